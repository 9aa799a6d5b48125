"""TURN for communes behind NAT: the service hands out time-limited credentials that a real coturn accepts.

coturn runs here on loopback with a shared secret, as docker-compose.yml runs it; ``.ci/run`` installs it."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aioice.stun import TransactionFailed
from aioice.turn import create_turn_endpoint

from signaling.ice import CREDENTIAL_SECONDS
from tests.conftest import Client
from tests.live import free_port
from tests.service.conftest import next_of, plan_live_meeting

SECRET = "bí-mật-chung-của-tỉnh"  # coturn takes any string; ours need not be ASCII-safe for HMAC


@pytest.fixture
def turn_port() -> Iterator[int]:
    if shutil.which("turnserver") is None:
        pytest.fail("turnserver is missing: install Debian's coturn package (.ci/run does)")
    port = free_port()
    relay_ports = free_port()
    server = subprocess.Popen(
        ["turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}",
         f"--min-port={relay_ports}", f"--max-port={relay_ports + 20}", "--use-auth-secret",
         f"--static-auth-secret={SECRET}", "--realm=giaoban.test", "--no-cli", "--no-tls", "--no-dtls",
         "--allow-loopback-peers", "--log-file=stdout", "--simple-log"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(100):  # it listens on TCP as well as UDP: that tells it is up
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            subprocess.run(["sleep", "0.1"], check=True)
        yield port
    finally:
        server.terminate()
        server.wait(10)


async def allocate(port: int, username: str, password: str) -> tuple[str, int]:
    """Ask coturn for a relayed address, as a browser does; returns it."""
    transport, _ = await create_turn_endpoint(asyncio.DatagramProtocol, ("127.0.0.1", port), username, password)
    try:
        address: tuple[str, int] = transport.get_extra_info("sockname")
        return address
    finally:
        transport.close()


async def test_browsers_get_turn_credentials_that_coturn_accepts(client_with: Any, turn_port: int) -> None:
    client: Client = await client_with(ice_urls=(f"turn:127.0.0.1:{turn_port}",), turn_secret=SECRET)
    live = await plan_live_meeting(client)
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "join", "token": live.tokens["bac-ha.na-hoi"], "name": "Vàng Seo Phủ"})
    [server] = (await next_of(ws, "welcome"))["ice_servers"]
    await ws.close()
    assert server["urls"] == [f"turn:127.0.0.1:{turn_port}"]
    expiry, label = server["username"].split(":")
    assert label == "bac-ha.na-hoi" and abs(int(expiry) - (time.time() + CREDENTIAL_SECONDS)) < 60

    host, relayed_port = await allocate(turn_port, server["username"], server["credential"])
    assert host == "127.0.0.1" and relayed_port > 0  # coturn checked the credential against the secret

    with pytest.raises(TransactionFailed):  # and refuses one that was not made with it
        await allocate(turn_port, server["username"], server["credential"][:-4] + "AAA=")
