"""POST/GET/DELETE /api/session: sign in, who am I, sign out."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from scheduler.errors import NotAuthenticated
from web.accounts import MAX_PASSWORD_LENGTH
from web.auth import check_same_origin, current_session
from web.endpoints import Endpoint, Reply
from web.responses import json_reply
from web.sessions import Session
from web.signin import set_session_cookie, sign_in, sign_out

SIGN_IN_SCHEMA = {
    "type": "object",
    "required": ["username", "password"],
    "additionalProperties": False,
    "properties": {
        "username": {"type": "string", "minLength": 1, "maxLength": 64},
        "password": {"type": "string", "minLength": 1, "maxLength": MAX_PASSWORD_LENGTH},
    },
}
SESSION_SCHEMA = {
    "type": "object",
    "required": ["username", "role", "csrf_token"],
    "properties": {
        "username": {"type": "string"},
        "role": {"type": "string", "enum": ["admin", "host", "secretary"]},
        "csrf_token": {"type": "string", "description": "send as X-CSRF-Token on state-changing requests"},
    },
}


def session_json(session: Session) -> dict[str, Any]:
    return {"username": session.username, "role": session.role, "csrf_token": session.csrf}


async def create_session(request: web.Request, body: dict[str, str]) -> web.StreamResponse:
    check_same_origin(request)
    session = await sign_in(request, body["username"], body["password"])
    response = json_reply(session_json(session))
    set_session_cookie(request, response, session)
    return response


async def get_session(request: web.Request, _: None) -> web.StreamResponse:
    session = await current_session(request)
    if session is None:
        raise NotAuthenticated("Please sign in")
    return json_reply(session_json(session))


async def delete_session(request: web.Request, _: None) -> web.StreamResponse:
    response = web.Response(status=204)
    await sign_out(request, response)
    return response


ENDPOINTS = (
    Endpoint("POST", "/api/session", create_session, "Sign in", roles=None, body_schema=SIGN_IN_SCHEMA,
             replies={200: Reply("Signed in; the session cookie is set", SESSION_SCHEMA)},
             errors=(401, 403, 429), tags=("session",)),
    Endpoint("GET", "/api/session", get_session, "The signed-in account", roles=None,
             replies={200: Reply("The session", SESSION_SCHEMA)}, errors=(401,), tags=("session",)),
    Endpoint("DELETE", "/api/session", delete_session, "Sign out", roles=(),
             replies={204: Reply("Signed out; the cookie is cleared")}, tags=("session",)),
)  # fmt: skip
