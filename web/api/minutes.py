"""The minutes of a meeting: the secretary's text (read and write), and the document as signed PDF and DOCX."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from scheduler.minutes import MAX_SECRETARY, MAX_TEXT, Minutes, MinutesText, checked_text
from scheduler.reports.minutes_exports import minutes_docx, minutes_pdf
from web.api.attendance import report_of, signed_file_endpoints
from web.api.meetings import READERS
from web.auth import current_session
from web.endpoints import Endpoint, Reply
from web.keys import CLOCK, I18N, MEETINGS, MINUTES
from web.responses import json_reply

MinutesFormat = tuple[str, Callable[[Minutes, Callable[[str], str]], bytes]]
FORMATS: Mapping[str, MinutesFormat] = {
    "pdf": ("application/pdf", minutes_pdf),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", minutes_docx),
}
TEXT_FIELDS = {"conclusions": {"type": "string", "maxLength": MAX_TEXT}, "remarks": {"type": "string",
               "maxLength": MAX_TEXT}, "secretary": {"type": "string", "maxLength": MAX_SECRETARY}}  # fmt: skip
TEXT_SCHEMA = {"type": "object", "additionalProperties": False, "properties": TEXT_FIELDS}
# Room for the longest minutes a secretary may write, however they travel: a Vietnamese letter is up to 9 bytes in a
# form (%XX three times) and 6 in JSON (\uXXXX); under the default limit a long text would be refused as too large
MAX_MINUTES_BODY = 10 * (2 * MAX_TEXT + MAX_SECRETARY)
MINUTES_SCHEMA = {"type": "object", "properties": {**TEXT_FIELDS, "updated_by": {"type": "string"},
                  "updated_at": {"type": ["string", "null"]}}}  # fmt: skip


async def minutes_of(request: web.Request) -> Minutes:
    """The whole document as it stands: the meeting as held, and what the secretary wrote."""
    report = await report_of(request)
    meeting, units = report.meeting, report.units
    chair = units[meeting.chair_unit].name if meeting.chair_unit in units else meeting.chair_unit
    text = await request.app[MINUTES].get(meeting.id)
    return Minutes(meeting, chair, tuple(report.rows), report.timeline, report.chat, text, report.as_of)


def text_json(text: MinutesText) -> dict[str, Any]:
    updated_at = text.updated_at.isoformat() if text.updated_at else None
    return {"conclusions": text.conclusions, "remarks": text.remarks, "secretary": text.secretary,
            "updated_by": text.updated_by, "updated_at": updated_at}  # fmt: skip


async def save_text(request: web.Request, body: Mapping[str, Any]) -> MinutesText:
    meeting = await request.app[MEETINGS].get(request.match_info["id"])  # it exists: no report needed to write
    session = await current_session(request)
    text = checked_text(dict(body), by=session.username if session else "", at=request.app[CLOCK].now())
    await request.app[MINUTES].save(meeting.id, text)
    return text


async def get_minutes(request: web.Request, _: None) -> web.StreamResponse:
    return json_reply(text_json((await minutes_of(request)).text))


async def put_minutes(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
    return json_reply(text_json(await save_text(request, body)))


def minutes_name(minutes: Minutes) -> str:
    return f"bien-ban-{minutes.meeting.starts_at:%Y%m%d}-{minutes.meeting.id}"


def minutes_export(extension: str) -> tuple[Endpoint, Endpoint]:
    async def produce(request: web.Request) -> tuple[str, bytes]:
        minutes = await minutes_of(request)
        i18n = request.app[I18N]
        language = i18n.language_of(request)
        data = FORMATS[extension][1](minutes, lambda message: i18n.gettext(language, message))
        return f"{minutes_name(minutes)}.{extension}", data

    path, summary = f"/api/meetings/{{id}}/minutes.{extension}", f"The minutes as {extension.upper()}"
    return signed_file_endpoints(path, FORMATS[extension][0], produce, summary, f"minutes_{extension}",
                                 "minutes")  # fmt: skip


ENDPOINTS = (
    Endpoint("GET", "/api/meetings/{id}/minutes", get_minutes, "What the secretary wrote in the minutes",
             roles=READERS, tags=("minutes",), replies={200: Reply("The minutes' text", MINUTES_SCHEMA)}),
    Endpoint("PUT", "/api/meetings/{id}/minutes", put_minutes, "Write the minutes' conclusions and remarks",
             roles=READERS, tags=("minutes",), body_schema=TEXT_SCHEMA, errors=(422,), max_body=MAX_MINUTES_BODY,
             replies={200: Reply("The minutes' text as saved", MINUTES_SCHEMA)}),
    *(endpoint for extension in FORMATS for endpoint in minutes_export(extension)),
)  # fmt: skip
