"""ICE consent on a slow line (conference/relay/consent.py), between two real aioice connections on this machine. The
line is slow at one end: every datagram that reaches it is handed to aioice a second late."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aioice
import pytest

from conference.relay import consent
from conference.relay.consent import keep_consent_patiently

LATE = 1.0  # seconds each datagram waits at the slow end: twice what aioice's own checks wait for an answer

Pair = tuple[aioice.Connection, aioice.Connection]


@pytest.fixture(autouse=True)
def quick_consent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Questions every 0.3 s and consent gone 2 s after the last answer, for a test of seconds (30 s in the field);
    aioice's own checks just as often."""
    monkeypatch.setattr(consent, "CONSENT_INTERVAL", 0.3)
    monkeypatch.setattr(consent, "CONSENT_EXPIRES", 2.0)
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.3)


async def connected(patient: bool) -> Pair:
    a, b = aioice.Connection(ice_controlling=True, components=1), aioice.Connection(ice_controlling=False, components=1)
    for connection in (a, b):
        if patient:
            keep_consent_patiently(connection)
        await connection.gather_candidates()
    for here, there in ((a, b), (b, a)):
        here.remote_username, here.remote_password = there.local_username, there.local_password
        for candidate in there.local_candidates:  # this machine's addresses (aioice gathers no loopback)
            await here.add_remote_candidate(candidate)
        await here.add_remote_candidate(None)
    await asyncio.gather(a.connect(), b.connect())
    return a, b


def slow_line(connection: aioice.Connection, deliver: Callable[[Any, bytes, Any], None] | None = None) -> None:
    """What reaches ``connection`` is handed to aioice ``LATE`` seconds later (``deliver`` decides what happens)."""
    loop = asyncio.get_running_loop()
    for protocol in connection._protocols:
        received = protocol.datagram_received
        protocol.datagram_received = lambda data, addr, received=received: loop.call_later(LATE, received, data, addr)
        if deliver is not None:
            protocol.datagram_received = lambda data, addr, protocol=protocol: deliver(protocol, data, addr)


@pytest.fixture
async def closing() -> AsyncIterator[list[aioice.Connection]]:
    connections: list[aioice.Connection] = []
    yield connections
    for connection in connections:
        await connection.close()


async def still_carries(a: aioice.Connection, b: aioice.Connection) -> bool:
    try:
        await a.send(b"still there?")
        return await asyncio.wait_for(b.recv(), LATE + 2) == b"still there?"
    except ConnectionError:
        return False


async def test_answers_that_come_late_keep_the_connection(closing: list[aioice.Connection]) -> None:
    a, b = await connected(patient=True)
    closing += [a, b]
    slow_line(b)
    await asyncio.sleep(5)  # 2.5 times the expiry, ~16 questions each way
    assert await still_carries(a, b) and await still_carries(b, a)


async def test_without_them_the_same_line_loses_the_connection(closing: list[aioice.Connection]) -> None:
    """aioice's own checks, on the same line: this is what the relay did (and what the test above guards)."""
    a, b = await connected(patient=False)
    closing += [a, b]
    slow_line(b)
    await asyncio.sleep(5)
    assert not await still_carries(a, b)


async def test_a_peer_that_stops_answering_loses_consent(
    closing: list[aioice.Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consent, "CONSENT_RETRANSMISSIONS", 1)  # each question waits 1.5 s, not 7.5
    a, b = await connected(patient=True)
    closing += [a, b]
    slow_line(b, deliver=lambda protocol, data, addr: None)  # b hears nothing any more
    await asyncio.sleep(6)
    with pytest.raises(ConnectionError):
        await a.send(b"anyone?")
