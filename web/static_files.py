"""``/static/``: the few scripts and the style sheet, read once at start, served gzipped where the browser takes it.

A commune PC on a shared 1 Mbit/s line downloads the meeting page's script (~24 KB, ~6 KB gzipped) before it can
join. The files are few and small, so they are kept in memory with their gzipped form and an ETag; a browser that
has them asks again with ``If-None-Match`` and gets ``304``. Only files that were there at start are served: a
path cannot reach outside the folder.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from aiohttp import hdrs, web


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    gzipped: bytes
    content_type: str
    etag: str


def load(directory: Path) -> dict[str, StaticFile]:
    files = {}
    for path in sorted(directory.iterdir()):
        if not path.is_file():
            continue
        body = path.read_bytes()
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        files[path.name] = StaticFile(body, gzip.compress(body, 9, mtime=0), content_type, etag)
    return files


def add_static_routes(app: web.Application, directory: Path) -> None:
    files = load(directory)

    async def serve(request: web.Request) -> web.StreamResponse:
        found = files.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        headers = {hdrs.ETAG: found.etag, hdrs.CACHE_CONTROL: "no-cache", hdrs.VARY: "Accept-Encoding"}
        if found.etag in request.headers.get(hdrs.IF_NONE_MATCH, ""):
            return web.Response(status=304, headers=headers)
        charset = "utf-8" if found.content_type.startswith("text/") or "javascript" in found.content_type else None
        if "gzip" in request.headers.get(hdrs.ACCEPT_ENCODING, ""):
            headers[hdrs.CONTENT_ENCODING] = "gzip"
            return web.Response(body=found.gzipped, content_type=found.content_type, charset=charset, headers=headers)
        return web.Response(body=found.body, content_type=found.content_type, charset=charset, headers=headers)

    app.router.add_get("/static/{name}", serve)
