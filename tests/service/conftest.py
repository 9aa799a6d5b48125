"""Fixtures shared by the service tests."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType
from aiosmtpd.controller import Controller

from scheduler.attendance.events import AttendanceEvent
from scheduler.directory.demo import demo_units
from tests.conftest import Client, signed_in
from tests.live import free_port
from web.bench.clips import Clip
from web.bench.endpoint import SyntheticEndpoint
from web.keys import ATTENDANCE, CLOCK, INVITATIONS, MEETINGS, UNITS

PLANNED_AT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
START = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 08:00 Vietnam time
INVITED = ["bac-ha", "bac-ha.na-hoi", "bac-ha.ta-chai", "van-ban.cum-nam-chay", "sa-pa"]


@pytest.fixture
async def held_meeting(client: Client) -> dict:
    """A meeting of the demo province, held a week on, with a realistic attendance log; the clock is after it."""
    await client.app[UNITS].import_units(demo_units())
    client.app[CLOCK].set(PLANNED_AT)
    token = await signed_in(client, "host")
    body = {"title": "Giao ban trực tuyến tháng 11 – Ứng phó rét đậm", "starts_at": "2026-11-30T08:00",
            "ends_at": "2026-11-30T10:00", "chair_unit": "laocai", "invited_units": INVITED}  # fmt: skip
    created = await (await client.post("/api/meetings", json=body, headers={"X-CSRF-Token": token})).json()
    log = client.app[ATTENDANCE]

    def at(minutes: int) -> datetime:
        return START + timedelta(minutes=minutes)

    for event in [
        AttendanceEvent("joined", at(-15), "laocai", "a", "Nguyễn Văn Hải", "Phó Chủ tịch UBND tỉnh"),
        AttendanceEvent("joined", at(-3), "bac-ha", "b", "Lý Thị Hoa", "Chánh Văn phòng HĐND-UBND huyện"),
        AttendanceEvent("joined", at(2), "bac-ha.na-hoi", "c", "Vàng Seo Phủ", "Chủ tịch UBND xã"),
        AttendanceEvent("dropped", at(40), "bac-ha.na-hoi", "c"),
        AttendanceEvent("rejoined", at(43), "bac-ha.na-hoi", "c", "Vàng Seo Phủ", "Chủ tịch UBND xã"),
        AttendanceEvent("roll_call_answered", at(30), "bac-ha.na-hoi", "c", detail="rc1"),
        AttendanceEvent("joined", at(25), "van-ban.cum-nam-chay", "d", "Hoàng Thị Lan", "Công chức Văn phòng"),
        AttendanceEvent("joined", at(0), "sa-pa", "e", "Đặng Quốc Việt", "Phó Chủ tịch UBND thị xã"),
        AttendanceEvent("left", at(60), "sa-pa", "e"),
    ]:
        await log.append(created["id"], event)
    client.app[CLOCK].set(START + timedelta(hours=3))  # the meeting is over
    await signed_in(client, "secretary")
    return created


# --- a meeting under way, joined over /ws ------------------------------------------------------------------------

LIVE_INVITED = ["bac-ha", "bac-ha.na-hoi", "sa-pa"]


@dataclass
class LiveMeeting:
    id: str
    tokens: dict[str, str]


@pytest.fixture
async def live(client: Client) -> LiveMeeting:
    return await plan_live_meeting(client)


async def plan_live_meeting(client: Client, **fields: Any) -> LiveMeeting:
    """A meeting of the demo province, planned by a host, with the clock a minute after its start."""
    await client.app[UNITS].import_units(demo_units())
    client.app[CLOCK].set(PLANNED_AT)
    csrf = await signed_in(client, "host")
    body = {"title": "Giao ban rét đậm", "starts_at": "2026-11-30T08:00", "ends_at": "2026-11-30T10:00",
            "chair_unit": "laocai", "invited_units": LIVE_INVITED, **fields}  # fmt: skip
    created = await (await client.post("/api/meetings", json=body, headers={"X-CSRF-Token": csrf})).json()
    meeting = await client.app[MEETINGS].get(created["id"])
    links = client.app[INVITATIONS].links
    tokens = {unit: (await links.url_for(meeting, unit)).rsplit("/", 1)[1] for unit in ["laocai", *LIVE_INVITED]}
    client.app[CLOCK].set(START + timedelta(minutes=1))
    return LiveMeeting(created["id"], tokens)


async def next_of(ws: ClientWebSocketResponse, kind: str, timeout: float = 5) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            frame = await ws.receive()
            if frame.type != WSMsgType.TEXT:
                raise AssertionError(f"socket closed ({frame.type}, {ws.close_code}) waiting for {kind}")
            message = json.loads(frame.data)
            if message["type"] == kind:
                return message


async def closed(ws: ClientWebSocketResponse) -> int | None:
    async with asyncio.timeout(5):
        while not ws.closed:
            await ws.receive()
    return ws.close_code


async def joined(client: Client, live: LiveMeeting, unit: str, name: str = "Lý Thị Hoa") -> ClientWebSocketResponse:
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "join", "token": live.tokens[unit], "name": name, "position": "Chánh Văn phòng"})
    welcome = await next_of(ws, "welcome")
    assert welcome["unit"] == unit
    return ws


Joined = tuple[ClientWebSocketResponse, SyntheticEndpoint]


async def media_joined(client: Client, live: LiveMeeting, unit: str, clips: dict[str, Clip],
                       endpoints: list[SyntheticEndpoint]) -> Joined:  # fmt: skip
    """Join by link, then negotiate media over the socket as a browser would; the endpoint joins ``endpoints``."""
    ws = await joined(client, live, unit)
    endpoint = SyntheticEndpoint("chair" if unit == "laocai" else "participant", clips)
    endpoints.append(endpoint)

    async def answer(sdp: str) -> str:
        await ws.send_json({"type": "offer", "sdp": sdp})
        return str((await next_of(ws, "answer", timeout=10))["sdp"])

    await endpoint.connect(answer)
    await endpoint.wait_connected()
    return ws, endpoint


# --- a real SMTP server (aiosmtpd on loopback) ------------------------------------------------------------------


@dataclass
class Inbox:
    messages: list[tuple[str, email.message.EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def] # aiosmtpd's hook
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        for recipient in envelope.rcpt_tos:
            self.messages.append((recipient, parsed))  # type: ignore[arg-type]
        return "250 OK"

    async def wait_for(self, count: int, seconds: float = 15.0) -> None:
        for _ in range(int(seconds / 0.05)):
            if len(self.messages) >= count:
                await asyncio.sleep(0.5)  # and nothing more arrives
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"expected {count} messages, got {len(self.messages)}")

    def by_recipient(self) -> dict[str, list[email.message.EmailMessage]]:
        found: dict[str, list[email.message.EmailMessage]] = {}
        for recipient, message in self.messages:
            found.setdefault(recipient, []).append(message)
        return found


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def inbox(smtp_port: int) -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield handler
    controller.stop()


TURN_SECRET = "bí-mật-chung-của-tỉnh"  # coturn takes any string; ours need not be ASCII-safe for HMAC
KEPT_FOR_NODES = range(49160, 49500)  # media port ranges the cluster tests give their nodes


@pytest.fixture
def turn_port() -> Iterator[int]:
    """A real coturn on loopback with a shared secret, as docker-compose.yml runs it (``.ci/run`` installs it);
    its relayed ports are never in a range the cluster tests give their nodes."""
    if shutil.which("turnserver") is None:
        pytest.fail("turnserver is missing: install Debian's coturn package (.ci/run does)")
    port = free_port()
    relay_ports = next(p for p in iter(free_port, 0) if p not in KEPT_FOR_NODES and p + 20 not in KEPT_FOR_NODES)
    server = subprocess.Popen(
        ["turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}",
         f"--min-port={relay_ports}", f"--max-port={relay_ports + 20}", "--use-auth-secret",
         f"--static-auth-secret={TURN_SECRET}", "--realm=giaoban.test", "--no-cli", "--no-tls", "--no-dtls",
         "--allow-loopback-peers", "--log-file=stdout", "--simple-log"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(100):  # it listens on TCP as well as UDP: that tells it is up
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(10)
