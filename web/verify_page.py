"""``/verify``: anyone drops an exported file (and its signature, unless the file carries it inside) and reads
whether this server signed it unchanged.

The same check as ``giaoban verify``, for a secretary or an inspector without the command line. Nothing is kept.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from aiohttp import web
from aiohttp.web_request import FileField

from scheduler.errors import N_, InvalidInput
from scheduler.meetings.model import VIETNAM
from scheduler.reports.signing import fingerprint, unembed, verify_file
from web.auth import check_same_origin
from web.keys import I18N, SIGNER
from web.responses import render

MAX_VERIFIED_BYTES = 2 * 1024 * 1024  # an attendance PDF of a province is a few hundred KB; the app's own limit
VALID = N_("Valid: this server signed this file, and it has not been changed")
CHANGED = N_("Changed: this file is not the one this server signed")
PDF_CREATED = re.compile(rb"/CreationDate \(D:(\d{14})(Z|([+-])(\d\d)'?(\d\d)?)?")


async def verify_page(request: web.Request) -> web.StreamResponse:
    return render(request, "verify.html", {"result": None})


async def verify_submit(request: web.Request) -> web.StreamResponse:
    check_same_origin(request)
    form = await request.post()
    exported, signature = form.get("file"), form.get("signature")
    if not isinstance(exported, FileField):
        raise InvalidInput("Choose the exported file and its signature file (.sig)")
    data = exported.file.read()
    detached = signature.file.read() if isinstance(signature, FileField) else None
    if not detached and unembed(data)[1] is None:
        raise InvalidInput("This file carries no signature inside: choose its signature file (.sig) too")
    i18n = request.app[I18N]
    language = i18n.language_of(request)
    key = await request.app[SIGNER].public_key_pem()
    valid = verify_file(data, detached, key)
    result = {"valid": valid, "name": exported.filename, "key": fingerprint(key), "exported_at": ""}
    created = _pdf_created(data) if valid else None
    if created is not None:
        result["exported_at"] = f"{created.astimezone(VIETNAM):%H:%M %d/%m/%Y}"
    verdict = VALID if valid else CHANGED
    result["verdict"] = i18n.gettext(language, verdict)
    return render(request, "verify.html", {"result": result}, status=200)


def _pdf_created(data: bytes) -> datetime | None:
    """When a signed PDF says it was made (the attendance PDF carries its export time)."""
    found = PDF_CREATED.search(data[:4096]) or PDF_CREATED.search(data[-8192:])
    if not found:
        return None
    zone = UTC
    if found[3]:  # +07'00' and the like
        offset = timedelta(hours=int(found[4]), minutes=int(found[5] or 0))
        zone = timezone(offset if found[3] == b"+" else -offset)
    return datetime.strptime(found[1].decode(), "%Y%m%d%H%M%S").replace(tzinfo=zone)


def add_verify_routes(app: web.Application) -> None:
    verify_submit.max_body = MAX_VERIFIED_BYTES  # type: ignore[attr-defined]  # read by web.hardening.body_limit
    app.router.add_get("/verify", verify_page)
    app.router.add_post("/verify", verify_submit)
