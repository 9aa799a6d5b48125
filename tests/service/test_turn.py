"""TURN for communes behind NAT: the service hands out time-limited credentials that a real coturn accepts.

coturn runs here on loopback with a shared secret, as docker-compose.yml runs it; ``.ci/run`` installs it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aioice.stun import TransactionFailed
from aioice.turn import create_turn_endpoint

from signaling.ice import CREDENTIAL_SECONDS
from tests.conftest import Client
from tests.service.conftest import TURN_SECRET, next_of, plan_live_meeting


async def allocate(port: int, username: str, password: str) -> tuple[str, int]:
    """Ask coturn for a relayed address, as a browser does; returns it."""
    transport, _ = await create_turn_endpoint(asyncio.DatagramProtocol, ("127.0.0.1", port), username, password)
    try:
        address: tuple[str, int] = transport.get_extra_info("sockname")
        return address
    finally:
        transport.close()


async def test_browsers_get_turn_credentials_that_coturn_accepts(client_with: Any, turn_port: int) -> None:
    client: Client = await client_with(ice_urls=(f"turn:127.0.0.1:{turn_port}",), turn_secret=TURN_SECRET)
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
