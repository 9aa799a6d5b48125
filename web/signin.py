"""Signing in and out, shared by the JSON API and the HTML login form."""

from __future__ import annotations

from aiohttp import web

from scheduler.errors import N_, NotAuthenticated
from web.accounts import normalise_username
from web.auth import SESSION_COOKIE
from web.keys import ACCOUNTS, CONFIG, SESSIONS, THROTTLE
from web.sessions import Session

WRONG_CREDENTIALS = N_("Wrong username or password")


async def sign_in(request: web.Request, username: str, password: str) -> Session:
    """A new session, or ``NotAuthenticated`` (the same message for an unknown user and a wrong password)."""
    app = request.app
    username = normalise_username(username)
    address = request.remote or "unknown"
    await app[THROTTLE].check(username, address)
    account = await app[ACCOUNTS].authenticate(username, password)
    if account is None:
        await app[THROTTLE].failed(username, address)
        raise NotAuthenticated(WRONG_CREDENTIALS)
    await app[THROTTLE].succeeded(username)
    return await app[SESSIONS].create(account)


def set_session_cookie(request: web.Request, response: web.StreamResponse, session: Session) -> None:
    config = request.app[CONFIG]
    response.set_cookie(
        SESSION_COOKIE,
        session.id,
        max_age=config.session_hours * 3600,
        httponly=True,
        samesite="Lax",
        secure=config.secure_cookies,
        path="/",
    )


async def sign_out(request: web.Request, response: web.StreamResponse) -> None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        await request.app[SESSIONS].delete(session_id)
    response.del_cookie(SESSION_COOKIE, path="/")
