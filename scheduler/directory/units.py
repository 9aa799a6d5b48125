"""Organisation units and the rules of the tree. Pure: no I/O.

A province holds districts; a district holds communes directly or through commune clusters (cụm xã); every unit is
a meeting point. Import is all-or-nothing: ``parse_units_csv`` and ``check_tree`` collect every problem with its
row number before anything is stored.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from scheduler.errors import InvalidInput, Problem

KINDS = ("province", "district", "cluster", "commune")
# Which kinds a unit of each kind may hang under (None: at the top).
ALLOWED_PARENTS: Mapping[str, tuple[str | None, ...]] = {
    "province": (None,),
    "district": ("province",),
    "cluster": ("district",),
    "commune": ("district", "cluster"),
}
CSV_COLUMNS = ("code", "name", "kind", "parent_code", "lat", "lon", "emails")
# A file may say, too, which district server a unit's staff join through (a district's row says it for its
# communes); a file without the column keeps what the directory says.
OPTIONAL_COLUMNS = ("server_url",)
SERVER_URL_PATTERN = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d{1,5})?(?:/[A-Za-z0-9._~/-]*)?$")
MAX_NAME_LENGTH = 200
MAX_EMAILS = 20
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Deliberately plain: one @, no spaces, a dot in the domain. Real validation is the mail server's answer.
EMAIL_PATTERN = re.compile(r"^[^@\s;,<>\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,63}$")


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    kind: str
    parent_code: str | None = None
    lat: float | None = None
    lon: float | None = None
    emails: tuple[str, ...] = field(default_factory=tuple)
    server_url: str | None = None  # the district server its staff join through; "" none; None (in an import):
    # the file does not say, the directory's stays

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["emails"] = list(self.emails)
        data["server_url"] = self.server_url or ""
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Unit:
        return cls(**{**data, "emails": tuple(data.get("emails", ()))})


def normalise_text(text: str) -> str:
    """NFC, trimmed: Vietnamese typed on some systems arrives decomposed and would not match or sort."""
    return unicodedata.normalize("NFC", text).strip()


def parse_units_csv(data: bytes) -> dict[str, tuple[int, Unit]]:
    """Parse an import file into code → (row number, unit); raise ``InvalidInput`` listing every bad row.

    Row numbers are those a spreadsheet shows: the header is row 1.
    """
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    header = [normalise_text(h).lower() for h in next(reader, [])]
    if len(set(header)) != len(header) or not set(CSV_COLUMNS) <= set(header) <= {*CSV_COLUMNS, *OPTIONAL_COLUMNS}:
        columns = ",".join(CSV_COLUMNS) + "".join(f"[,{column}]" for column in OPTIONAL_COLUMNS)
        raise InvalidInput("The first row must name the columns {columns}",
                           problems=[Problem(1, "Expected columns {columns}", {"columns": columns})],
                           columns=columns)  # fmt: skip
    parsed: dict[str, tuple[int, Unit]] = {}
    problems: list[Problem] = []
    for row_number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue  # blank lines, as spreadsheets leave them at the end
        if len(cells) != len(header):
            problems.append(Problem(row_number, "Expected {expected} cells, found {found}",
                                    {"expected": len(header), "found": len(cells)}))  # fmt: skip
            continue
        unit, row_problems = _unit_from_row(dict(zip(header, cells, strict=True)), row_number)
        problems.extend(row_problems)
        if unit is None:
            continue
        if unit.code in parsed:
            problems.append(Problem(row_number, "Code {code} already used in row {first}",
                                    {"code": unit.code, "first": parsed[unit.code][0]}))  # fmt: skip
        else:
            parsed[unit.code] = (row_number, unit)
    if not parsed and not problems:
        raise InvalidInput("The file contains no units", problems=[Problem(2, "No rows after the header")])
    if problems:
        raise _rejected(problems)
    return parsed


def check_tree(existing: Mapping[str, Unit], incoming: Mapping[str, tuple[int, Unit]]) -> dict[str, Unit]:
    """Merge ``incoming`` (from ``parse_units_csv``) over ``existing`` by code; check parents, kinds, cycles.

    Returns the merged directory, or raises ``InvalidInput`` naming the row of every problem.
    """
    merged = dict(existing)
    merged.update((code, _keeping_server(unit, existing.get(code))) for code, (_, unit) in incoming.items())
    problems: list[Problem] = []
    for row, unit in incoming.values():
        parent = merged.get(unit.parent_code) if unit.parent_code else None
        if unit.parent_code and parent is None:
            problems.append(Problem(row, "Unknown parent unit {parent}", {"parent": unit.parent_code}))
        elif _in_cycle(unit.code, merged):
            problems.append(Problem(row, "Unit {code} would be its own ancestor", {"code": unit.code}))
        elif (parent.kind if parent else None) not in ALLOWED_PARENTS[unit.kind]:
            problems.append(_wrong_parent_kind(unit, row))
    # Changing the kind of an existing unit can leave its children under a parent they may not have.
    for child in merged.values():
        if child.code in incoming or child.parent_code is None or child.parent_code not in incoming:
            continue
        parent = merged[child.parent_code]
        if parent.kind not in ALLOWED_PARENTS[child.kind]:
            problems.append(_wrong_parent_kind(child, incoming[parent.code][0]))
    if problems:
        raise _rejected(problems)
    return merged


def server_of(units: Mapping[str, Unit], code: str) -> str:
    """The district server a unit's staff join through: its own, else its nearest ancestor's ("" for none: this
    server)."""
    seen: set[str] = set()
    unit = units.get(code)
    while unit is not None and unit.code not in seen:
        if unit.server_url:
            return unit.server_url
        seen.add(unit.code)
        unit = units.get(unit.parent_code) if unit.parent_code else None
    return ""


# --- helpers ---------------------------------------------------------------------------------------------------


def _keeping_server(unit: Unit, before: Unit | None) -> Unit:
    if unit.server_url is not None:
        return unit
    return replace(unit, server_url=before.server_url if before is not None else "")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            "The file is not UTF-8 text; save it as “CSV UTF-8”",
            problems=[Problem(_line_of(data, exc.start), "Not UTF-8 text")],
        ) from None


def _line_of(data: bytes, offset: int) -> int:
    return data[:offset].count(b"\n") + 1


def _unit_from_row(row: Mapping[str, str], row_number: int) -> tuple[Unit | None, list[Problem]]:
    problems: list[Problem] = []

    def problem(message: str, **params: Any) -> None:
        problems.append(Problem(row_number, message, params))

    code = normalise_text(row["code"])
    name = normalise_text(row["name"])
    kind = normalise_text(row["kind"]).lower()
    parent_code = normalise_text(row["parent_code"]) or None
    if not CODE_PATTERN.match(code):
        problem("Code {code} must be 1–64 letters, digits, dots, dashes or underscores", code=code)
    if not name:
        problem("Name is empty")
    elif len(name) > MAX_NAME_LENGTH:
        problem("Name is longer than {limit} characters", limit=MAX_NAME_LENGTH)
    if kind not in KINDS:
        problem("Unknown kind {kind}; use one of {kinds}", kind=kind, kinds=", ".join(KINDS))
    if parent_code == code and code:
        problem("Unit {code} would be its own ancestor", code=code)
    lat, lon = _coordinate(row["lat"], 90.0, problem, "lat"), _coordinate(row["lon"], 180.0, problem, "lon")
    if (lat is None) != (lon is None) and not problems:
        problem("Give both lat and lon, or neither")
    emails = _emails(row["emails"], problem)
    server_url = row["server_url"].strip().rstrip("/") if "server_url" in row else None
    if server_url and not SERVER_URL_PATTERN.match(server_url):
        problem("Column {column} must be a web address such as {example}", column="server_url",
                example="https://huyen.example.vn")  # fmt: skip
    if problems:
        return None, problems
    return Unit(code, name, kind, parent_code, lat, lon, emails, server_url), []


def _coordinate(raw: str, limit: float, problem: Any, column: str) -> float | None:
    raw = raw.strip()
    if raw.count(",") == 1 and "." not in raw:
        raw = raw.replace(",", ".")  # a decimal comma, as Vietnamese-locale spreadsheets write it
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        problem("Column {column} is not a number: {value}", column=column, value=raw)
        return None
    if not math.isfinite(value) or abs(value) > limit:
        problem("Column {column} must be between -{limit} and {limit}", column=column, limit=int(limit))
        return None
    return value


def _emails(raw: str, problem: Any) -> tuple[str, ...]:
    emails: list[str] = []
    for part in raw.split(";"):
        address = part.strip()
        if not address:
            continue
        if not EMAIL_PATTERN.match(address):
            problem("Not an e-mail address: {email}", email=address)
        elif address.lower() not in (e.lower() for e in emails):
            emails.append(address)
    if len(emails) > MAX_EMAILS:
        problem("At most {limit} e-mail addresses per unit", limit=MAX_EMAILS)
    return tuple(emails)


def _in_cycle(code: str, units: Mapping[str, Unit]) -> bool:
    seen = {code}
    current = units[code].parent_code
    while current is not None and current in units:
        if current in seen:
            return True
        seen.add(current)
        current = units[current].parent_code
    return False


def _wrong_parent_kind(unit: Unit, row: int) -> Problem:
    allowed = ", ".join(k or "none" for k in ALLOWED_PARENTS[unit.kind])
    return Problem(row, "A {kind} must hang under: {allowed}",
                   {"kind": unit.kind, "allowed": allowed})  # fmt: skip


def _rejected(problems: list[Problem]) -> InvalidInput:
    problems.sort(key=lambda p: p.where if isinstance(p.where, int) else 0)
    return InvalidInput("Import rejected: {count} problem(s); nothing was changed", problems=problems,
                        count=len(problems))  # fmt: skip


def vietnamese_sort_key(text: str) -> tuple[str, str]:
    """Sort Vietnamese names as people expect: by letters first, tones and marks second (Đ after D, not after Z).

    Good enough for lists of place names; not full collation.
    """
    folded = fold_diacritics(text).lower()
    return folded, text


def fold_diacritics(text: str) -> str:
    """“Bắc Hà” → “Bac Ha”: for search that forgives missing tone marks."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def children_by_parent(units: Mapping[str, Unit]) -> dict[str | None, list[Unit]]:
    """The tree as parent code → children, each list sorted by kind then name; roots under ``None``."""
    tree: dict[str | None, list[Unit]] = {}
    for unit in units.values():
        parent = unit.parent_code if unit.parent_code in units else None
        tree.setdefault(parent, []).append(unit)
    for children in tree.values():
        children.sort(key=lambda u: (KINDS.index(u.kind), vietnamese_sort_key(u.name)))
    return tree
