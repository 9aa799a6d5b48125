"""Extract every translatable message of the project (Python and templates), as the translation tests see it."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

ROOT = Path(__file__).resolve().parent.parent
# Error classes take their message id first; Problem and local problem() helpers take it second/first.
PYTHON_KEYWORDS = {
    "_": None, "t": None, "translate": None, "gettext": None, "ngettext": (1, 2), "N_": None,
    "problem": None, "field_problem": (2,), "Problem": (2,),
    "MalformedInput": None, "InvalidInput": None, "ProtocolError": None, "NotAuthenticated": None,
    "NotAuthorised": None, "NotFound": None, "Conflict": None, "TooManyAttempts": None, "StoreUnavailable": None,
}  # fmt: skip
METHOD_MAP = [("**/tests/**", "ignore"), ("**.py", "python"), ("**/templates/**.html", "jinja2"),
              ("**/templates/**.txt", "jinja2")]  # fmt: skip


def project_messages() -> dict[str, list[str]]:
    """msgid (a plural as "singular|plural") → the files it appears in."""
    found: dict[str, list[str]] = {}
    for package in ("conference", "signaling", "scheduler", "web"):
        for filename, _line, message, _comments, _context in extract_from_dir(
            ROOT / package,
            method_map=METHOD_MAP,
            keywords=PYTHON_KEYWORDS,
            options_map={"**/templates/**": {"extensions": "jinja2.ext.i18n"}},
        ):
            key = "|".join(message) if isinstance(message, tuple) else message
            found.setdefault(key, []).append(f"{package}/{filename}")
    return found


if __name__ == "__main__":
    for msgid in sorted(project_messages()):
        print(msgid)
