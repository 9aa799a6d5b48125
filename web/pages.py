"""HTML pages for people: sign-in, the organisation directory. Plain forms, so they work on old browsers."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from scheduler.directory.units import children_by_parent, fold_diacritics
from scheduler.errors import N_, NotAuthenticated, TooManyAttempts
from scheduler.invitations.tokens import check_window
from web.auth import check_csrf, check_same_origin, current_session
from web.keys import CLOCK, I18N, INVITATIONS, MEETINGS, UNITS
from web.mail import meeting_time_text
from web.responses import render
from web.sessions import Session
from web.signin import set_session_cookie, sign_in, sign_out


async def require_session(request: web.Request) -> Session:
    session = await current_session(request)
    if session is None:
        raise web.HTTPFound(f"/login?next={quote(request.path_qs)}")
    return session


def safe_next(target: str | None) -> str:
    """Only our own paths: ``//evil.example`` or ``https://...`` would make the login an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/dashboard"
    return target


async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/dashboard" if await current_session(request) else "/login")


async def login_page(request: web.Request) -> web.StreamResponse:
    return render(request, "login.html", {"next": safe_next(request.query.get("next")), "error": "", "username": ""})


async def login_submit(request: web.Request) -> web.StreamResponse:
    check_same_origin(request)
    form = await request.post()
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    target = safe_next(str(form.get("next", "")))
    try:
        if not username or not password:
            raise NotAuthenticated("Enter your username and password")
        session = await sign_in(request, username, password)
    except (NotAuthenticated, TooManyAttempts) as exc:
        i18n = request.app[I18N]
        message = i18n.format(i18n.language_of(request), exc.message, exc.params)
        status = 429 if isinstance(exc, TooManyAttempts) else 401
        return render(request, "login.html", {"next": target, "error": message, "username": username}, status=status)
    response = web.HTTPSeeOther(target)
    set_session_cookie(request, response, session)
    raise response


async def logout_submit(request: web.Request) -> web.StreamResponse:
    session = await current_session(request)
    if session is not None:
        await check_csrf(request, session)
    response = web.HTTPSeeOther("/login")
    await sign_out(request, response)
    raise response


async def units_page(request: web.Request) -> web.StreamResponse:
    await require_session(request)
    units = await request.app[UNITS].all()
    return render(request, "units.html", {"tree": children_by_parent(units), "count": len(units),
                                          "fold": fold_diacritics})  # fmt: skip


STATE_TEXT = {
    "scheduled": N_("The meeting room is not open yet."),
    "lobby_open": N_("The meeting room is open; the meeting starts soon."),
    "live": N_("The meeting is under way."),
    "ended": N_("The meeting has ended."),
    "cancelled": N_("This meeting was cancelled"),
}


async def join_page(request: web.Request) -> web.StreamResponse:
    """Where an invitation's link leads: the link is checked, then the meeting is shown to its unit."""
    app = request.app
    grant = await app[INVITATIONS].links.grant_of(request.match_info["token"])
    meeting = await app[MEETINGS].get(grant.meeting_id)
    now = app[CLOCK].now()
    check_window(meeting, grant, now)
    units = await app[UNITS].all()
    language = app[I18N].language_of(request)
    return render(request, "join.html", {
        "meeting": meeting, "role": grant.role, "when": meeting_time_text(meeting, language),
        "unit_name": units[grant.unit].name if grant.unit in units else grant.unit,
        "state_text": app[I18N].gettext(language, STATE_TEXT[meeting.state(now)]),
    })  # fmt: skip


def add_page_routes(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout_submit)
    app.router.add_get("/units", units_page)
    app.router.add_get("/j/{token}", join_page)
