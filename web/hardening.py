"""What every HTTP answer carries, whatever produced it (a page, the API, a static file, an error, a WebSocket
handshake): security headers, and gzip for text a slow commune line must download.

The Content-Security-Policy allows no inline script and no inline style: pages keep their data in JSON blocks
(``<script type="application/json">``, never executed) and their behaviour in ``/static``. Frames: none, so a page
cannot be put inside someone else's site. Join links carry their token in the path, so no page sends a Referer.
HSTS only where the certificate is real (``--tls-cert``, or a proxy on an ``https://`` public address): with a
self-signed one it would take away the browser's "proceed anyway" that a LAN trial depends on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

from web.endpoints import DEFAULT_BODY_LIMIT
from web.keys import CONFIG

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

COMPRESSED_TYPES = ("text/html", "text/css", "application/javascript", "text/javascript", "application/json",
                    "text/plain", "text/csv", "image/svg+xml")  # fmt: skip
COMPRESS_FROM_BYTES = 1024  # smaller answers gain less than gzip's own header costs
HSTS = "max-age=31536000"


def content_security_policy(request: web.Request) -> str:
    # Old Chromium treats 'self' as not covering ws:/wss:, so the signaling socket is named explicitly.
    scheme = "wss" if request.secure else "ws"
    return "; ".join([
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
        "media-src 'self' blob:", f"connect-src 'self' {scheme}://{request.host}", "font-src 'self'",
        "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
    ])  # fmt: skip


def _real_https(request: web.Request) -> bool:
    config = request.app[CONFIG]
    if config.self_signed:
        return False
    return config.tls_cert is not None or (request.secure and config.public_url.startswith("https://"))


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(request))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors, for browsers older than CSP 2
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Permissions-Policy", "camera=(self), microphone=(self), geolocation=(), display-capture=(self)")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if _real_https(request):
        headers.setdefault("Strict-Transport-Security", HSTS)


@web.middleware
async def compression(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost, so that it also sees the error pages; before the answer is prepared (aiohttp starts its
    compressor before the prepare signal)."""
    response = await handler(request)
    _compress(request, response)
    return response


def _compress(request: web.Request, response: web.StreamResponse) -> None:
    if not isinstance(response, web.Response) or response.status in (204, 304) or response.compression:
        return
    if "gzip" not in request.headers.get(hdrs.ACCEPT_ENCODING, "") or hdrs.CONTENT_ENCODING in response.headers:
        return
    body = response.body
    if not isinstance(body, bytes | bytearray) or len(body) < COMPRESS_FROM_BYTES:
        return
    if response.content_type in COMPRESSED_TYPES:
        response.enable_compression(web.ContentCoding.gzip)


@web.middleware
async def body_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A body over its route's limit is refused (413) from its Content-Length, before a byte of it is read. The
    API's endpoints declare their limit (``Endpoint.max_body``); pages' forms are small."""
    if request.content_length is not None:
        route_handler = request.match_info.handler
        limit = getattr(route_handler, "max_body", DEFAULT_BODY_LIMIT)
        if request.content_length > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    return await handler(request)


def install(app: web.Application) -> None:
    app.on_response_prepare.append(add_security_headers)
