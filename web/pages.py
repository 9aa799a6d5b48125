"""HTML pages for people: sign-in, the organisation directory. Plain forms, so they work on old browsers."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from scheduler.directory.units import children_by_parent, fold_diacritics
from scheduler.errors import NotAuthenticated, TooManyAttempts
from web.auth import check_csrf, check_same_origin, current_session
from web.keys import I18N, UNITS
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


def add_page_routes(app: web.Application) -> None:
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout_submit)
    app.router.add_get("/units", units_page)
