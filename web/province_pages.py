"""On a district server: the pages of its province's links, fetched from the province's server.

A commune's invitation link points at its district server (the directory says which units a server serves), but
the link is the province's: only the province's store knows the meeting. The join page and the check page of such
a link are the province's own, fetched as they are (in the commune's language) and served from here; what the page
then loads (``/static``) and opens (``/ws``) is this server's, the commune's edge. Nothing of the commune's is sent
up but the link and its language.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

import aiohttp
from aiohttp import web

from live.uplink import UNREACHABLE, UpstreamUnavailable
from web.i18n import LANGUAGE_COOKIE
from web.keys import CONFIG, INVITATIONS

log = logging.getLogger(__name__)

FETCH_SECONDS = 10.0
KEPT_HEADERS = ("Content-Type", "Cache-Control")  # not its security headers: its policy names its own host


async def province_page(request: web.Request, suffix: str = "") -> web.StreamResponse | None:
    """The province's page for a link of the province's; None for a link of this server's own."""
    upstream, token = request.app[CONFIG].upstream_url, request.match_info["token"]
    if not upstream or await request.app[INVITATIONS].links.is_ours(token):
        return None
    url = f"{upstream.rstrip('/')}/j/{quote(token, safe='')}{suffix}"
    headers = {"Accept-Language": request.headers.get("Accept-Language", "")}
    language = request.cookies.get(LANGUAGE_COOKIE)
    if language:
        headers["Cookie"] = f"{LANGUAGE_COOKIE}={quote(language, safe='')}"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=FETCH_SECONDS)) as http,
            http.get(url, params=request.query, headers=headers, allow_redirects=False) as fetched,
        ):
            body = await fetched.read()
            kept = {name: fetched.headers[name] for name in KEPT_HEADERS if name in fetched.headers}
            status = fetched.status
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        log.warning("the province's page for a link could not be fetched from %s: %s", upstream, error)
        raise UpstreamUnavailable(UNREACHABLE) from None
    return web.Response(body=body, status=status, headers=kept)
