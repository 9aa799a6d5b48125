"""HTTP hardening on every route: security headers, no inline script or style, gzip, body limits, no tracebacks."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import Client, signed_in
from web.app import STATIC_DIR
from web.keys import INVITATIONS, MEETINGS, UNITS

SAMPLE = {"name": "meeting.js", "unit": "bac-ha", "action": "resend", "recording": "nope", "extension": "csv"}


async def every_get_path(client: Client, meeting_id: str) -> list[str]:
    meeting = await client.app[MEETINGS].get(meeting_id)
    token = (await client.app[INVITATIONS].links.url_for(meeting, "bac-ha")).rsplit("/", 1)[1]
    values = {**SAMPLE, "id": meeting_id, "token": token}
    paths = set()
    for route in client.app.router.routes():
        if route.method != "GET":
            continue
        info = route.resource.get_info() if route.resource else {}
        template = info.get("path") or info.get("formatter")
        if template is None:
            continue
        paths.add(re.sub(r"\{(\w+)(:[^}]*)?\}", lambda m: values.get(m.group(1), "x"), template))
    return sorted(paths)


def check_headers(path: str, headers: aiohttp.typedefs.LooseHeaders) -> None:
    policy = headers.get("Content-Security-Policy", "")  # type: ignore[union-attr]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy, path
    assert "style-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy, path
    assert headers.get("Referrer-Policy") == "no-referrer", path  # type: ignore[union-attr]
    assert headers.get("X-Content-Type-Options") == "nosniff", path  # type: ignore[union-attr]
    assert headers.get("X-Frame-Options") == "DENY", path  # type: ignore[union-attr]
    assert "Strict-Transport-Security" not in headers, path  # plain http here


def check_no_inline_code(path: str, html: str) -> None:
    for script in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in script or 'type="application/json"' in script, (path, script)
    assert not re.search(r"\son[a-z]+\s*=", html), path  # onclick=, onsubmit=
    assert not re.search(r"\sstyle\s*=", html), path


async def test_every_get_route_has_the_security_headers_and_no_inline_code(client: Client, held_meeting: dict) -> None:
    await signed_in(client, "admin")
    paths = await every_get_path(client, held_meeting["id"])
    assert len(paths) >= 20 and "/meetings/{id}/attendance".format(id=held_meeting["id"]) in paths
    for path in [*paths, "/no-such-page", "/api/no-such-thing"]:
        response = await client.get(path, allow_redirects=False)
        assert response.status != 500, path
        check_headers(path, response.headers)
        if response.content_type == "text/html":
            check_no_inline_code(path, await response.text())


async def test_hsts_only_with_a_real_certificate(client_with, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    real = await client_with(tls_cert=tmp_path / "cert.pem", tls_key=tmp_path / "key.pem")
    assert (await real.get("/login")).headers["Strict-Transport-Security"] == "max-age=31536000"
    trial = await client_with(self_signed=True)  # HSTS would take away the browser's "proceed" on a LAN trial
    assert "Strict-Transport-Security" not in (await trial.get("/login")).headers


async def test_text_is_gzipped_and_static_files_revalidate(client: Client) -> None:
    script = (STATIC_DIR / "meeting.js").read_bytes()
    response = await client.get("/static/meeting.js", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert response.headers["Content-Encoding"] == "gzip" and response.content_type == "text/javascript"
    packed = await response.read()
    assert gzip.decompress(packed) == script and len(packed) < len(script) / 2
    plain = await client.get("/static/meeting.js", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and await plain.read() == script
    again = await client.get("/static/meeting.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status == 304
    assert (await client.get("/static/../app.py")).status == 404
    api = await client.get("/api/openapi.json", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert api.headers["Content-Encoding"] == "gzip" and b'"openapi"' in gzip.decompress(await api.read())
    page = await client.get("/login", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    assert page.headers["Content-Encoding"] == "gzip" and "<html" in gzip.decompress(await page.read()).decode()


async def test_bodies_over_their_route_limit_get_a_clear_413(client: Client, held_meeting: dict) -> None:
    csrf = await signed_in(client, "admin")
    headers = {"X-CSRF-Token": csrf, "Content-Type": "application/json"}
    big = b'{"title": "' + b"x" * 100_000 + b'"}'
    declared = await client.post("/api/meetings", data=big, headers=headers)
    assert declared.status == 413 and (await declared.json())["error"]["code"] == "too_large"

    async def chunks():  # type: ignore[no-untyped-def]  # no Content-Length: refused once read
        for _ in range(10):
            yield b"x" * 10_000

    chunked = await client.post("/api/meetings", data=chunks(), headers=headers)
    assert chunked.status == 413 and (await chunked.json())["error"]["code"] == "too_large"
    csv = "code,name,kind,parent_code,lat,lon,emails\n" + "".join(
        f"x{i},Xã {i},commune,laocai,22.4,104.0,\n" for i in range(20_000))  # fmt: skip
    assert len(csv.encode()) > 500_000
    imported = await client.post(
        "/api/units/import", data=csv.encode(), headers={**headers, "Content-Type": "text/csv"}
    )
    assert imported.status != 413  # a whole province's directory, and more, fits its own limit
    form = await client.post("/login", data={"username": "a", "password": "p" * 100_000})
    assert form.status == 413 and "text/html" in form.headers["Content-Type"]
    assert "Traceback" not in await form.text()


async def test_an_unexpected_failure_in_the_api_leaks_nothing(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    await signed_in(client, "admin")

    async def broken() -> None:
        raise RuntimeError("password=hunter2 at /srv/giaoban/secret.py line 12")

    monkeypatch.setattr(client.app[UNITS], "all", broken)
    response = await client.get("/api/units")
    text = await response.text()
    assert response.status == 500 and (await response.json())["error"]["code"] == "internal_error"
    assert "hunter2" not in text and "Traceback" not in text and "secret.py" not in text
    check_headers("/api/units", response.headers)
