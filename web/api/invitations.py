"""/api/meetings/{id}/invitations: links per unit, sending, resending, regenerating a link."""

from __future__ import annotations

from aiohttp import web

from scheduler.directory.units import server_of
from scheduler.errors import NotFound
from scheduler.invitations.tokens import role_of
from scheduler.mail.outbox import STATUSES
from scheduler.meetings.model import Meeting
from web.api.meetings import PLANNERS, READERS
from web.endpoints import Endpoint, Reply
from web.keys import INVITATIONS, MEETINGS, UNITS
from web.lifecycle import wake_mail_sender
from web.responses import json_reply

# a unit with no address, no mail server to send with, or no mail yet; else how its mail stands
EMAIL_STATUSES = ["no_address", "no_mail_server", "not_sent", *STATUSES]
INVITATION_SCHEMA = {
    "type": "object",
    "required": ["unit", "role", "join_url", "email_status", "sent_at"],
    "properties": {
        "unit": {"type": "string"},
        "unit_name": {"type": "string"},
        "role": {"type": "string", "enum": ["chair", "participant"]},
        "join_url": {"type": "string"},
        "code": {"type": "string", "description": "the unit's short code (482-915-307), typed on the home page"},
        "email_status": {"type": "string", "enum": EMAIL_STATUSES},
        "sent_at": {"type": ["string", "null"]},
        "last_error": {"type": ["string", "null"]},
    },
}
LIST_SCHEMA = {"type": "object", "required": ["invitations"],
               "properties": {"invitations": {"type": "array", "items": INVITATION_SCHEMA}}}  # fmt: skip
QUEUED_SCHEMA = {"type": "object", "required": ["queued"], "properties": {"queued": {"type": "integer"}}}
LINK_SCHEMA = {"type": "object", "required": ["unit", "join_url"],
               "properties": {"unit": {"type": "string"}, "join_url": {"type": "string"}}}  # fmt: skip


async def list_invitations(request: web.Request, _: None) -> web.StreamResponse:
    meeting = await request.app[MEETINGS].get(request.match_info["id"])
    return json_reply({"invitations": await request.app[INVITATIONS].rows(meeting)})


async def send_invitations(request: web.Request, _: None) -> web.StreamResponse:
    meeting = await request.app[MEETINGS].get(request.match_info["id"])
    queued = await request.app[INVITATIONS].send(meeting)
    wake_mail_sender(request.app)
    return json_reply({"queued": queued}, status=202)


async def resend_invitation(request: web.Request, _: None) -> web.StreamResponse:
    meeting = await request.app[MEETINGS].get(request.match_info["id"])
    queued = await request.app[INVITATIONS].send(meeting, unit_codes=[_invited_unit(request, meeting)], again=True)
    wake_mail_sender(request.app)
    return json_reply({"queued": queued}, status=202)


async def regenerate_link(request: web.Request, _: None) -> web.StreamResponse:
    meeting = await request.app[MEETINGS].get(request.match_info["id"])
    unit = _invited_unit(request, meeting)
    at = server_of(await request.app[UNITS].all(), unit)
    return json_reply({"unit": unit, "join_url": await request.app[INVITATIONS].links.regenerate(meeting, unit, at)})


def _invited_unit(request: web.Request, meeting: Meeting) -> str:
    unit = request.match_info["unit"]
    if role_of(meeting, unit) is None:
        raise NotFound("Unit {unit} is not invited to this meeting", unit=unit)
    return unit


QUEUED = {202: Reply("Queued in the outbox; see the list for progress", QUEUED_SCHEMA)}
ENDPOINTS = (
    Endpoint("GET", "/api/meetings/{id}/invitations", list_invitations, "Invited units, links and e-mail status",
             roles=READERS, replies={200: Reply("One row per unit, the chair first", LIST_SCHEMA)},
             tags=("invitations",)),
    Endpoint("POST", "/api/meetings/{id}/invitations/send", send_invitations,
             "E-mail every unit its own link (an update or cancellation if the meeting changed)", roles=PLANNERS,
             replies=QUEUED, tags=("invitations",)),
    Endpoint("POST", "/api/meetings/{id}/invitations/{unit}/resend", resend_invitation,
             "E-mail one unit its invitation again", roles=PLANNERS, replies=QUEUED, tags=("invitations",)),
    Endpoint("POST", "/api/meetings/{id}/invitations/{unit}/regenerate", regenerate_link,
             "Give one unit a new link; its old link stops working", roles=PLANNERS,
             replies={200: Reply("The new link", LINK_SCHEMA)}, tags=("invitations",)),
)  # fmt: skip
