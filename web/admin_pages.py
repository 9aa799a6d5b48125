"""Administration on the web, for admins: staff accounts, and the directory's CSV import with a preview.

Every change is a form posted with the session's CSRF token. A directory file is checked whole first: the preview
lists every bad row (as the API would refuse it) or what would be created and updated, and nothing changes until
the admin confirms; the confirmation carries the same file back and is checked again.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField

from scheduler.directory.units import CSV_COLUMNS, OPTIONAL_COLUMNS, check_tree, parse_units_csv
from scheduler.errors import N_, Conflict, GiaobanError, InvalidInput
from web.accounts import ROLES
from web.auth import authorise
from web.keys import ACCOUNTS, I18N, UNITS
from web.meeting_pages import local, require_role
from web.pages import require_session
from web.responses import render

ADMINS = ("admin",)
MAX_DIRECTORY_BYTES = 2 * 1024 * 1024
NOTICES = {"created": N_("The account was created."), "changed": N_("The account was changed."),
           "imported": N_("The directory was imported.")}  # fmt: skip

SHOWN_COLUMNS = (*CSV_COLUMNS, *(f"[{column}]" for column in OPTIONAL_COLUMNS))  # the hint: optional ones in brackets


async def accounts_page(request: web.Request, error: GiaobanError | None = None, status: int = 200) -> web.Response:
    await require_role(request, ADMINS)
    accounts = await request.app[ACCOUNTS].all()
    return render(request, "admin_accounts.html", {
        "accounts": accounts, "roles": ROLES, "me": (await require_session(request)).username,
        "created": lambda a: local(_when(a.created_at)) if a.created_at else "",
        **_said(request, error)}, status=status)  # fmt: skip


async def create_account_submit(request: web.Request) -> web.StreamResponse:
    form = await _admin_form(request)
    try:
        await request.app[ACCOUNTS].add(str(form.get("username", "")), str(form.get("role", "")),
                                        str(form.get("password", "")))  # fmt: skip
    except GiaobanError as error:
        return await accounts_page(request, error, status=422 if isinstance(error, InvalidInput) else 409)
    raise web.HTTPSeeOther("/admin/accounts?notice=created")


async def change_account_submit(request: web.Request) -> web.StreamResponse:
    form = await _admin_form(request)
    username, action = request.match_info["username"], str(form.get("action", ""))
    me = (await require_session(request)).username
    try:
        if username == me and action in ("disable", "role"):
            raise Conflict("You cannot disable your own account or change your own role")
        choices: dict[str, dict[str, Any]] = {"disable": {"disabled": True}, "enable": {"disabled": False},
                                              "role": {"role": str(form.get("role", ""))},
                                              "password": {"password": str(form.get("password", ""))}}  # fmt: skip
        changes = choices.get(action, {})
        if not changes:
            raise InvalidInput("Unknown change {action}", action=action[:40])
        await request.app[ACCOUNTS].change(username, **changes)
    except GiaobanError as error:
        return await accounts_page(request, error, status=409 if isinstance(error, Conflict) else 422)
    raise web.HTTPSeeOther("/admin/accounts?notice=changed")


async def directory_page(request: web.Request) -> web.StreamResponse:
    await require_role(request, ADMINS)
    return render(request, "admin_directory.html", {"columns": SHOWN_COLUMNS, "preview": None, **_said(request)})


async def directory_preview_submit(request: web.Request) -> web.StreamResponse:
    """Check the whole file against the directory as it is; show every bad row, or what would change."""
    file = (await _admin_form(request)).get("file")
    if not isinstance(file, FileField):
        raise InvalidInput("Choose a CSV file")
    data = file.file.read()
    existing = await request.app[UNITS].all()
    try:
        incoming = parse_units_csv(data)
        check_tree(existing, incoming)
    except InvalidInput as error:
        return render(request, "admin_directory.html", {"columns": SHOWN_COLUMNS, "preview": None,
                                                        **_said(request, error)}, status=422)  # fmt: skip
    created = sorted((u for _, u in incoming.values() if u.code not in existing), key=lambda u: u.code)
    updated = sorted((u for _, u in incoming.values() if u.code in existing), key=lambda u: u.code)
    preview = {"created": created, "updated": updated, "csv": data.decode("utf-8-sig", errors="replace")}
    return render(request, "admin_directory.html", {"columns": SHOWN_COLUMNS, "preview": preview, **_said(request)})


async def directory_import_submit(request: web.Request) -> web.StreamResponse:
    form = await _admin_form(request)
    try:
        await request.app[UNITS].import_units(parse_units_csv(str(form.get("csv", "")).encode()))
    except InvalidInput as error:
        return render(request, "admin_directory.html", {"columns": SHOWN_COLUMNS, "preview": None,
                                                        **_said(request, error)}, status=422)  # fmt: skip
    raise web.HTTPSeeOther("/admin/directory?notice=imported")


# --- inside ----------------------------------------------------------------------------------------------------


async def _admin_form(request: web.Request) -> Any:
    """A form an admin posted, a file upload too (its CSRF token checked); 401 when signed out, 403 for another
    role."""
    await authorise(request, ADMINS)
    return await request.post()


def _said(request: web.Request, error: GiaobanError | None = None) -> dict[str, Any]:
    """The notice after a change, or the error (with each problem) of a refused one, in the reader's language."""
    i18n = request.app[I18N]
    language = i18n.language_of(request)
    notice = NOTICES.get(request.query.get("notice", ""))
    said: dict[str, Any] = {"notice": i18n.gettext(language, notice) if notice else "", "error": "", "problems": []}
    if error is not None:
        said["error"] = i18n.format(language, error.message, error.params)
        said["problems"] = [(p.where, i18n.format(language, p.message, p.params)) for p in error.problems]
    return said


def _when(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def add_admin_routes(app: web.Application) -> None:
    directory_preview_submit.max_body = MAX_DIRECTORY_BYTES  # type: ignore[attr-defined]  # web.hardening.body_limit
    directory_import_submit.max_body = MAX_DIRECTORY_BYTES  # type: ignore[attr-defined]
    app.router.add_get("/admin/accounts", accounts_page)
    app.router.add_post("/admin/accounts", create_account_submit)
    app.router.add_post("/admin/accounts/{username}", change_account_submit)
    app.router.add_get("/admin/directory", directory_page)
    app.router.add_post("/admin/directory/preview", directory_preview_submit)
    app.router.add_post("/admin/directory/import", directory_import_submit)
