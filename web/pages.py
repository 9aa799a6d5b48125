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


# What the browser client says by itself (server errors arrive already translated).
CLIENT_TEXT = {
    "name_needed": N_("Please type your name"),
    "camera_blocked": N_(
        "The camera or microphone is blocked. Allow it in the browser (the icon in the address bar), "
        "then reload the page. You can still join and listen."
    ),
    "camera_missing": N_("No camera or microphone was found. You can still join and listen."),
    "camera": N_("Camera no. {number}"),  # a device the browser gives no name
    "microphone": N_("Microphone no. {number}"),
    "connecting": N_("Connecting…"),
    "reconnecting": N_("Connection lost; reconnecting in {seconds} s…"),
    "lobby": N_("Waiting for the chair to open the meeting…"),
    "in_meeting": N_("You are in the meeting."),
    "you_have_floor": N_("You have the floor: everyone can see and hear you."),
    "muted": N_("The chair has muted your microphone."),
    "kicked": N_("The chair removed you from the meeting."),
    "ended": N_("The meeting has ended. Thank you."),
    "left": N_("You left the meeting."),
    "refused": N_("This link cannot join the meeting now."),
    "replaced": N_("This link was opened in another window or on another computer; the meeting continues there."),
    "rate_limited": N_("Too many requests from this page; it will reconnect shortly."),
    "weak": N_("Your connection is weak: showing a smaller picture."),
    "poor": N_("Your connection is too weak for pictures: audio only until it improves."),
    "good": N_("Your connection is good again."),
    "picture_good": N_("Full picture"),
    "picture_weak": N_("Reduced picture: the line is weak"),
    "picture_poor": N_("Audio only: the line is too weak for pictures"),
    "picture_asked": N_("Audio only, as you asked"),
    "layer_full": N_("full picture"),
    "layer_medium": N_("reduced picture (medium)"),
    "layer_small": N_("reduced picture (small)"),
    "layer_none": N_("audio only"),
    "nobody_has_floor": N_("Nobody has the floor"),
    "presenting": N_("{unit} is presenting"),
    "you_present": N_("You are presenting your screen to everyone."),
    "share_failed": N_("The screen could not be shared (it was not chosen, or the browser does not allow it)."),
    "absent": N_("absent"),
    "lobby_state": N_("lobby"),
    "connected": N_("connected"),
    "dropped": N_("dropped"),
    "page": N_("Page {page} of {pages}"),
    "confirm_end": N_("End the meeting for everyone?"),
    "answered": N_("present"),
    "recording_disk_full": N_("Recording stopped: the server's disk is full. What was recorded is kept."),
    "recording_write_failed": N_("Recording stopped: the server could not write the files. What was recorded is kept."),
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
    names = {code: units[code].name if code in units else code for code in (meeting.chair_unit, *meeting.invited_units)}
    client_config = {
        "token": request.match_info["token"], "role": grant.role, "unit": grant.unit, "names": names,
        "text": {key: app[I18N].gettext(language, text) for key, text in CLIENT_TEXT.items()},
    }  # fmt: skip
    return render(request, "join.html", {
        "meeting": meeting, "role": grant.role, "when": meeting_time_text(meeting, language),
        "unit_name": names[grant.unit], "units": list(names.items()), "chair_unit": meeting.chair_unit,
        "state_text": app[I18N].gettext(language, STATE_TEXT[meeting.state(now)]), "client_config": client_config,
    })  # fmt: skip


def add_page_routes(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout_submit)
    app.router.add_get("/units", units_page)
    app.router.add_get("/j/{token}", join_page)
