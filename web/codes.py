"""The home page's way in by short code: a unit reads ``482-915-307`` off the phone, types it, lands on its join page.

Wrong codes are counted per address (Redis, so every process counts them together); past the limit the address
waits, whatever it types, so nine digits cannot be walked through.
"""

from __future__ import annotations

from aiohttp import web

from live.uplink import UpstreamUnavailable
from scheduler.errors import N_, TooManyAttempts
from web.auth import current_session
from web.keys import I18N, INVITATIONS, LIVE, STORE
from web.responses import render
from web.sessions import FAILURES_KEY, count_failure, refuse_past

TOO_MANY_WRONG_CODES = N_("Too many wrong codes; try again in {minutes} minute(s)")
WRONG_CODES_ALLOWED = 10  # per address (web/sessions.py's FAILURES_KEY, scope "code"), within WINDOW_SECONDS
WINDOW_SECONDS = 600


async def home(request: web.Request) -> web.StreamResponse:
    """Signed in: the dashboard. Otherwise the way in for a meeting point (its code) and for staff (sign in)."""
    if await current_session(request):
        raise web.HTTPFound("/dashboard")
    return render(request, "home.html", {"error": "", "code": ""})


async def enter_code(request: web.Request) -> web.StreamResponse:
    code = request.query.get("c", "").strip()
    address = request.remote or ""
    redis = request.app[STORE].redis
    i18n = request.app[I18N]
    language = i18n.language_of(request)
    failures = FAILURES_KEY.format("code", address)
    try:
        await refuse_past(redis, failures, WRONG_CODES_ALLOWED, TOO_MANY_WRONG_CODES)
    except TooManyAttempts as refused:
        message = i18n.format(language, refused.message, refused.params)
        return render(request, "home.html", {"error": message, "code": code}, status=429,
                      headers={"Retry-After": str(refused.retry_after_seconds)})  # fmt: skip
    try:
        token = await _token_of(request, code) if code else None
    except UpstreamUnavailable as unreachable:
        message = i18n.format(language, unreachable.message, unreachable.params)
        return render(request, "home.html", {"error": message, "code": code}, status=503)
    if token is None:
        if code:
            await count_failure(redis, [failures], WINDOW_SECONDS)
        message = i18n.gettext(language, N_("No meeting has this code. Check the digits with whoever gave it to you."))
        return render(
            request, "home.html", {"error": message if code else "", "code": code}, status=404 if code else 200
        )
    raise web.HTTPSeeOther(f"/j/{token}")


async def _token_of(request: web.Request, code: str) -> str | None:
    """This server's link for the code; on a district server, else its province's (served here all the same)."""
    token = await request.app[INVITATIONS].links.token_of_code(code)
    cluster = request.app[LIVE].cluster if LIVE in request.app else None
    if token is None and cluster is not None and cluster.uplink is not None:
        token = await cluster.uplink.token_of_code(code)
    return token


def add_code_routes(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/code", enter_code)
