"""The operator's log: JSON lines for a collector, the events that matter, and none of the libraries' chatter."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp

from tests.live import serving
from tests.service.conftest import next_of
from tests.service.test_abuse import demo_tokens


async def test_json_logs_tell_start_meeting_and_stop_and_nothing_else(tmp_path: Path) -> None:
    with serving(tmp_path, "--demo", "--log-format", "json") as server:
        base = f"http://127.0.0.1:{server.port}"
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            for _ in range(20):
                async with http.get(f"{base}/healthz") as response:
                    assert response.status == 200
            tokens = await demo_tokens(http, base, ["sa-pa"])
            chair = await http.ws_connect(f"{base}/ws")
            await chair.send_json({"type": "join", "token": tokens["laocai"], "name": "Nguyễn Văn Hải"})
            await next_of(chair, "welcome")
            await chair.send_json({"type": "end"})
            await next_of(chair, "bye")
        code, output = server.stop()
    assert code == 0
    entries = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is a JSON object
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)
    messages = [entry["message"] for entry in entries]
    assert any(m.startswith("started: serving on http://127.0.0.1") for m in messages), messages
    assert any(" opened with 1 units connected" in m for m in messages), messages
    assert any(m.endswith(" ended with 1 units connected") and "Giao ban" in m for m in messages), messages
    assert messages[-1] == "stopped"
    warnings = [e["message"] for e in entries if e["level"] in ("WARNING", "ERROR", "CRITICAL")]
    assert [m for m in warnings if not m.startswith("no mail server")] == [], warnings  # a clean run
    assert len(warnings) == 1  # the operator is told once that invitations are not e-mailed
    assert not [e for e in entries if e["logger"].startswith(("aiohttp.access", "aioice", "aiortc"))]
    assert len(entries) < 20, messages  # twenty requests and a meeting: a handful of lines, not one each
