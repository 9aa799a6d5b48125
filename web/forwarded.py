"""Behind the TLS reverse proxy, see the real client: its address (sign-in throttling) and scheme (origin checks).

Only requests arriving from a configured trusted proxy may say so; anyone else's X-Forwarded-* is ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable

from aiohttp import web

from web.keys import CONFIG

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def forwarded_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    trusted = request.app[CONFIG].trusted_proxies
    if trusted and _is_trusted(request.remote, trusted):
        changes: dict[str, str] = {}
        client = _client_address(request.headers.get("X-Forwarded-For", ""), trusted)
        if client:
            changes["remote"] = client
        scheme = request.headers.get("X-Forwarded-Proto", "").strip().lower()
        if scheme in ("http", "https"):
            changes["scheme"] = scheme
        if changes:
            request = request.clone(**changes)  # type: ignore[arg-type]
    return await handler(request)


def _is_trusted(address: str | None, trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def _client_address(header: str, trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> str:
    """The right-most address that is not one of our proxies: the left part is whatever the client claimed."""
    for hop in reversed([part.strip() for part in header.split(",") if part.strip()]):
        if not _is_trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return ""
    return ""
