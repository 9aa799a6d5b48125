"""/api/meetings: plan, list, edit, cancel."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from scheduler.errors import MalformedInput, Problem
from scheduler.meetings.model import (
    MAX_AGENDA_LENGTH,
    MAX_INVITED_UNITS,
    MAX_OCCURRENCES,
    MAX_TITLE_LENGTH,
    STATES,
    Meeting,
    apply_changes,
    cancel,
    cancel_following,
    change_following,
    parse_time,
    plan_meetings,
)
from web.auth import current_session
from web.endpoints import Endpoint, Reply
from web.keys import CLOCK, INVITATIONS, MEETINGS, UNITS
from web.lifecycle import wake_mail_sender
from web.responses import json_reply

PLANNERS = ("host", "admin")
READERS = ("host", "admin", "secretary")
MAX_RANGE = timedelta(days=400)

FIELDS: dict[str, Any] = {
    "title": {"type": "string", "minLength": 1, "maxLength": MAX_TITLE_LENGTH},
    "agenda": {"type": "string", "maxLength": MAX_AGENDA_LENGTH},
    "starts_at": {"type": "string", "description": "ISO 8601; without an offset it means Vietnam time"},
    "ends_at": {"type": "string"},
    "chair_unit": {"type": "string"},
    "invited_units": {"type": "array", "items": {"type": "string"}, "maxItems": MAX_INVITED_UNITS},
    "lobby_opens_minutes": {"type": "integer", "minimum": 0, "maximum": 240},
    "auto_record": {"type": "boolean", "description": "start recording when the chair joins"},
}
CREATE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "starts_at", "ends_at", "chair_unit", "invited_units"],
    "properties": {
        **FIELDS,
        "recurrence": {
            "type": "object",
            "additionalProperties": False,
            "required": ["frequency"],
            "properties": {
                "frequency": {"const": "weekly"},
                "count": {"type": "integer", "minimum": 1, "maximum": MAX_OCCURRENCES},
                "until": {"type": "string", "description": "last day, e.g. 2027-06-30"},
            },
        },
    },
}
PATCH_SCHEMA = {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": FIELDS}
MEETING_SCHEMA = {
    "type": "object",
    "required": ["id", "title", "starts_at", "ends_at", "chair_unit", "invited_units", "state", "sequence"],
    "properties": {
        **FIELDS,
        "id": {"type": "string"},
        "series_id": {"type": ["string", "null"]},
        "sequence": {"type": "integer"},
        "state": {"type": "string", "enum": list(STATES)},
        "cancelled": {"type": "boolean"},
        "held_from": {"type": ["string", "null"], "description": "when the chair opened it (Vietnam time)"},
        "held_until": {"type": ["string", "null"], "description": "when the chair ended it (Vietnam time)"},
        "test_session": {"type": "boolean", "description": "a supervised test session is open (before the room)"},
        "occurrences": {"type": "array", "items": {"type": "object"}},
    },
}
MEETINGS_SCHEMA = {"type": "object", "required": ["meetings"],
                   "properties": {"meetings": {"type": "array", "items": MEETING_SCHEMA}}}  # fmt: skip


async def create_meeting(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
    session = await current_session(request)
    now = request.app[CLOCK].now()
    units = await request.app[UNITS].all()
    meetings = plan_meetings(body, units, now=now, created_by=session.username if session else "")
    await request.app[MEETINGS].add(meetings)
    reply = meetings[0].public_json(now)
    if len(meetings) > 1:
        reply["occurrences"] = [{"id": m.id, "starts_at": m.public_json(now)["starts_at"]} for m in meetings]
    return json_reply(reply, status=201, headers={"Location": f"/api/meetings/{meetings[0].id}"})


async def list_meetings(request: web.Request, _: None) -> web.StreamResponse:
    now = request.app[CLOCK].now()
    start = query_time(request, "from", now - timedelta(days=1))
    end = query_time(request, "to", start + timedelta(days=90))
    if end < start or end - start > MAX_RANGE:
        raise MalformedInput("Choose a range of at most {days} days", problems=[Problem("to", "Range too long")],
                             days=MAX_RANGE.days)  # fmt: skip
    meetings = await request.app[MEETINGS].between(start, end)
    return json_reply({"meetings": [m.public_json(now) for m in meetings]})


async def get_meeting(request: web.Request, _: None) -> web.StreamResponse:
    meeting = await request.app[MEETINGS].get(request.match_info["id"])
    return json_reply(meeting.public_json(request.app[CLOCK].now()))


SCOPES = ("this", "following")  # one occurrence of a weekly series, or it and every one that follows


def scope_of(raw: str | None) -> str:
    if raw in (None, ""):
        return "this"
    if raw not in SCOPES:
        raise MalformedInput("The request could not be understood",
                             problems=[Problem("scope", "One of {scopes}", {"scopes": ", ".join(SCOPES)})])  # fmt: skip
    return raw


async def change_meetings(request: web.Request, meeting_id: str, body: dict[str, Any], scope: str) -> Meeting:
    """Edit one meeting, or (``following``) it and the rest of its series; the units are told. The one asked for."""
    app, now = request.app, request.app[CLOCK].now()
    units = await app[UNITS].all()
    meeting = await app[MEETINGS].get(meeting_id)
    if scope == "following" and meeting.series_id:
        changed = await _store(request, change_following(await app[MEETINGS].series(meeting.series_id), meeting,
                                                          body, units, now=now))  # fmt: skip
    else:
        changed = [await app[MEETINGS].update(meeting_id, lambda current: apply_changes(current, body, units, now=now))]
    return await _tell(request, changed)


async def cancel_meetings(request: web.Request, meeting_id: str, scope: str) -> Meeting:
    app, now = request.app, request.app[CLOCK].now()
    meeting = await app[MEETINGS].get(meeting_id)
    if scope == "following" and meeting.series_id:
        changed = await _store(request, cancel_following(await app[MEETINGS].series(meeting.series_id), meeting,
                                                          now=now))  # fmt: skip
    else:
        changed = [await app[MEETINGS].update(meeting_id, lambda current: cancel(current, now=now))]
    return await _tell(request, changed)


async def _store(request: web.Request, changed: list[Meeting]) -> list[Meeting]:
    for meeting in changed:
        await request.app[MEETINGS].update(meeting.id, lambda _, meeting=meeting: meeting)  # type: ignore[misc]
    return changed


async def _tell(request: web.Request, changed: list[Meeting]) -> Meeting:
    """The units of each changed meeting are told, once all are stored: a series' invitation then goes once, with
    every change. The meeting asked for."""
    for meeting in changed:
        await tell_invited_units(request, meeting)
    return changed[0]


async def patch_meeting(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
    meeting = await change_meetings(request, request.match_info["id"], body, scope_of(request.query.get("scope")))
    return json_reply(meeting.public_json(request.app[CLOCK].now()))


async def cancel_meeting(request: web.Request, _: None) -> web.StreamResponse:
    meeting = await cancel_meetings(request, request.match_info["id"], scope_of(request.query.get("scope")))
    return json_reply(meeting.public_json(request.app[CLOCK].now()))


async def tell_invited_units(request: web.Request, meeting: Meeting) -> None:
    """Units that already have the invitation get the update (or cancellation) in their calendars."""
    if await request.app[INVITATIONS].after_change(meeting):
        wake_mail_sender(request.app)


def query_time(request: web.Request, name: str, default: datetime) -> datetime:
    raw = request.query.get(name)
    if raw is None:
        return default
    parsed = parse_time(raw)
    if parsed is None:
        raise MalformedInput("The request could not be understood",
                             problems=[Problem(name, "Not a date and time such as 2026-12-01T08:00")])  # fmt: skip
    return parsed


TIME_QUERY = {"type": "string", "description": "ISO 8601; without an offset it means Vietnam time"}
SCOPE_QUERY = {"type": "string", "enum": list(SCOPES), "description": "this meeting (default), or it and all following"}
MEETING_REPLY = {200: Reply("The meeting", MEETING_SCHEMA)}
ENDPOINTS = (
    Endpoint("POST", "/api/meetings", create_meeting, "Plan a meeting, or a weekly series", roles=PLANNERS,
             body_schema=CREATE_SCHEMA, replies={201: Reply("Planned: the (first) meeting", MEETING_SCHEMA)},
             errors=(422,), tags=("meetings",)),
    Endpoint("GET", "/api/meetings", list_meetings, "Meetings starting in a time range (default: next 90 days)",
             roles=READERS, replies={200: Reply("The meetings", MEETINGS_SCHEMA)},
             query={"from": TIME_QUERY, "to": TIME_QUERY}, tags=("meetings",)),
    Endpoint("GET", "/api/meetings/{id}", get_meeting, "One meeting", roles=READERS, replies=MEETING_REPLY,
             tags=("meetings",)),
    Endpoint("PATCH", "/api/meetings/{id}", patch_meeting, "Edit or reschedule one meeting (or it and the rest of "
             "its series: scope=following; a new time moves each by the same shift)", roles=PLANNERS,
             body_schema=PATCH_SCHEMA, replies=MEETING_REPLY, errors=(400, 409, 422), tags=("meetings",),
             query={"scope": SCOPE_QUERY}),
    Endpoint("DELETE", "/api/meetings/{id}", cancel_meeting, "Cancel one meeting, or it and the rest of its series "
             "(scope=following); it stays on record", roles=PLANNERS,
             replies={200: Reply("The cancelled meeting", MEETING_SCHEMA)}, errors=(400, 409), tags=("meetings",),
             query={"scope": SCOPE_QUERY}),
)  # fmt: skip
