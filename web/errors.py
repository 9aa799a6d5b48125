"""The HTTP edge of the error vocabulary: one middleware turns every failure into a clear answer.

``/api`` callers get ``{"error": {"code", "message", "problems"?}}`` with a 4xx/5xx status; people get a friendly
page in their language. Tracebacks go to the log only.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from aiohttp import web
from redis.exceptions import RedisError

from scheduler import errors
from scheduler.errors import N_
from web.keys import I18N
from web.responses import json_reply, render

log = logging.getLogger(__name__)

STATUS: Mapping[type[errors.GiaobanError], int] = {
    errors.MalformedInput: 400,
    errors.ProtocolError: 400,
    errors.NotAuthenticated: 401,
    errors.NotAuthorised: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.InvalidInput: 422,
    errors.TooManyAttempts: 429,
    errors.StoreUnavailable: 503,
}
# aiohttp's own refusals (no route, wrong method, body too large...) in the same vocabulary.
HTTP_REFUSALS: Mapping[int, tuple[str, str]] = {
    400: ("malformed_input", N_("The request could not be understood")),
    404: ("not_found", N_("There is nothing at this address")),
    405: ("method_not_allowed", N_("This address does not accept that method")),
    413: ("too_large", N_("The request is too large")),
    415: ("unsupported_media_type", N_("This address does not accept that content type")),
}
STORE_DOWN = errors.StoreUnavailable("The data store is unreachable; please try again in a moment")
INTERNAL = ("internal_error", N_("Something went wrong on our side; the error has been logged"))

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _navigating(request: web.Request) -> bool:
    """A browser opening an address (a link, the address bar), not a script calling the API."""
    if request.method != "GET":
        return False
    mode = request.headers.get("Sec-Fetch-Mode")
    return mode == "navigate" if mode else "text/html" in request.headers.get("Accept", "")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except errors.GiaobanError as exc:
        return _vocabulary_response(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects and the like are answers, not errors
        code, message = HTTP_REFUSALS.get(exc.status, ("http_error", N_("The request could not be processed")))
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {}
        return error_response(request, exc.status, code, message, headers=headers)
    except RedisError:
        log.exception("store error on %s %s", request.method, request.path)
        return _vocabulary_response(request, STORE_DOWN)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(request, 500, *INTERNAL)


def _vocabulary_response(request: web.Request, exc: errors.GiaobanError) -> web.StreamResponse:
    if isinstance(exc, errors.NotAuthenticated) and _navigating(request):
        # a person following an export link after the session expired: the sign-in page, then back to the file
        raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs)}")
    status = next(s for cls, s in STATUS.items() if isinstance(exc, cls))
    headers = {}
    if isinstance(exc, errors.TooManyAttempts):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    return error_response(request, status, exc.code, exc.message, exc.params, exc.problems, headers=headers)


def error_response(
    request: web.Request,
    status: int,
    code: str,
    message: str,
    params: Mapping[str, Any] | None = None,
    problems: Sequence[errors.Problem] = (),
    *,
    headers: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    i18n = request.app[I18N]
    language = i18n.language_of(request)
    text = i18n.format(language, message, params or {})
    translated = [{"where": p.where, "message": i18n.format(language, p.message, p.params)} for p in problems]
    if wants_json(request):
        body: dict[str, Any] = {"code": code, "message": text}
        if translated:
            body["problems"] = translated
        return json_reply({"error": body}, status=status, headers=headers)
    return render(request, "error.html", {"status": status, "message": text, "problems": translated},
                  status=status, headers=headers)  # fmt: skip


def wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/") or request.path in ("/healthz", "/metrics")
