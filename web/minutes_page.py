"""The minutes page (biên bản): what the service knows of the meeting as held, drawn as the document will be, and the
secretary's conclusions and remarks; the signed PDF and DOCX beside it."""

from __future__ import annotations

from aiohttp import web

from scheduler.reports.minutes_exports import outline
from web.api.meetings import READERS
from web.api.minutes import FORMATS, MAX_MINUTES_BODY, minutes_of, save_text
from web.auth import authorise
from web.keys import I18N
from web.mail import meeting_time_text
from web.meeting_pages import local, require_role
from web.responses import render


async def minutes_page(request: web.Request) -> web.StreamResponse:
    await require_role(request, READERS)
    minutes = await minutes_of(request)
    i18n = request.app[I18N]
    language = i18n.language_of(request)
    blocks = outline(minutes, lambda message: i18n.gettext(language, message))
    return render(request, "minutes.html", {
        "meeting": minutes.meeting, "when": meeting_time_text(minutes.meeting, language), "text": minutes.text,
        "updated_at": local(minutes.text.updated_at), "blocks": blocks,
        "formats": list(FORMATS), "saved": request.query.get("saved") == "1",
    })  # fmt: skip


async def minutes_submit(request: web.Request) -> web.StreamResponse:
    await authorise(request, READERS)
    form = await request.post()
    await save_text(request, {name: str(form.get(name, "")) for name in ("conclusions", "remarks", "secretary")})
    raise web.HTTPSeeOther(f"/meetings/{request.match_info['id']}/minutes?saved=1")


def add_minutes_routes(app: web.Application) -> None:
    minutes_submit.max_body = MAX_MINUTES_BODY  # type: ignore[attr-defined]  # read by web.hardening.body_limit
    app.router.add_get("/meetings/{id}/minutes", minutes_page)
    app.router.add_post("/meetings/{id}/minutes", minutes_submit)
