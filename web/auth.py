"""Who is calling: the session behind the cookie, its role, and the CSRF token on state-changing requests."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from aiohttp import web

from scheduler.errors import NotAuthenticated, NotAuthorised
from web.keys import ACCOUNTS, CONFIG, SESSIONS
from web.sessions import Session

SESSION_COOKIE = "giaoban_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SESSION: web.RequestKey[Session | None] = web.RequestKey("session")


async def current_session(request: web.Request) -> Session | None:
    """The signed-in session, looked up once per request."""
    if _SESSION not in request:
        session_id = request.cookies.get(SESSION_COOKIE, "")
        session = await request.app[SESSIONS].get(session_id) if session_id else None
        if session is not None:
            # the account as it stands now: a disabled account, or one whose role changed, signs in again
            account = await request.app[ACCOUNTS].get(session.username)
            if account is None or account.disabled or account.role != session.role:
                await request.app[SESSIONS].delete(session_id)
                session = None
        request[_SESSION] = session
    return request[_SESSION]


async def authorise(request: web.Request, roles: tuple[str, ...] | None) -> Session | None:
    """Enforce an endpoint's roles (None: public; (): anyone signed in) and CSRF for unsafe methods."""
    if roles is None:
        return None
    session = await current_session(request)
    if session is None:
        raise NotAuthenticated("Please sign in")
    if roles and session.role not in roles:
        raise NotAuthorised("Your role ({role}) may not do this", role=session.role)
    if request.method not in SAFE_METHODS:
        await check_csrf(request, session)
    return session


async def check_csrf(request: web.Request, session: Session) -> None:
    token = request.headers.get(CSRF_HEADER)
    if token is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        token = str((await request.post()).get(CSRF_FORM_FIELD, ""))
    if not token or not hmac.compare_digest(token, session.csrf):
        raise NotAuthorised("Missing or wrong security token; reload the page and try again")


def check_same_origin(request: web.Request) -> None:
    """For sign-in, where no session (so no CSRF token) exists yet: refuse posts from other sites' pages."""
    origin = request.headers.get("Origin")
    public = urlsplit(request.app[CONFIG].base_url)
    allowed = {f"{request.scheme}://{request.host}", f"{public.scheme}://{public.netloc}"}  # behind a TLS proxy too
    if origin and origin != "null" and origin not in allowed:
        raise NotAuthorised("Sign-in from another site is not allowed")


def peek_session(request: web.Request) -> Session | None:
    """The session if this request already looked it up (rendering is synchronous and cannot ask Redis)."""
    return request.get(_SESSION)
