"""Messages between nodes: Redis pub/sub, one channel per node, in order from each sender.

Pub/sub, not streams, because signaling is live: a message is worth something for a second or two, and what a node
missed while it was down must not be replayed to it later (a "give the floor" an hour late). Pub/sub keeps nothing,
costs nothing between messages, and delivers in the order one connection published, so every message of this node
goes out through one writer task on one connection: what one browser said arrives in the order it said it.
A node that dies loses what was on its way to it; its browsers reconnect and start afresh anyway.

Channel: ``giaoban:node:<id>:inbox``; each message is one JSON list of envelopes (a burst costs one publish).

A district server (``GIAOBAN_UPSTREAM_URL``) has its own store: what it sends to its province's nodes goes up its
uplink (``live/uplink.py``), a WebSocket to one of them, which publishes it here for them (``live/downlinks.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any, Protocol

from redis.asyncio import Redis

log = logging.getLogger(__name__)

INBOX = "giaoban:node:{}:inbox"
READ_TIMEOUT = 1.0  # the reader looks up from the socket this often to see whether it should stop
BATCH_LIMIT = 200  # envelopes in one published message

Envelope = dict[str, Any]


class Elsewhere(Protocol):
    """Nodes of another store: the province's, reached by a district server's uplink."""

    def reaches(self, node_id: str) -> bool: ...

    def send(self, node_id: str, envelope: Envelope) -> None: ...


class NodeBus:
    def __init__(self, redis: Redis, node_id: str, deliver: Callable[[Envelope], None]) -> None:
        self._redis = redis
        self.node_id = node_id
        self._deliver = deliver
        self._outbound: dict[str, list[Envelope]] = defaultdict(list)
        self._wake = asyncio.Event()
        self._stop_reading = asyncio.Event()
        self._stop_writing = asyncio.Event()
        self.sent = 0
        self.received = 0
        self.lost = 0  # envelopes a store outage kept from going
        self.listening = asyncio.Event()  # set once subscribed: only then may other nodes be told we exist
        self.elsewhere: Elsewhere | None = None

    def send(self, node_id: str, envelope: Envelope) -> None:
        """Queue for another node (returns at once; the writer publishes in order). Each envelope says who sent
        it (``n``)."""
        if self.elsewhere is not None and self.elsewhere.reaches(node_id):
            self.sent += 1
            self.elsewhere.send(node_id, {**envelope, "n": self.node_id})
            return
        self.pass_on(node_id, {**envelope, "n": self.node_id})

    def pass_on(self, node_id: str, envelope: Envelope) -> None:
        """Queue an envelope another node sent (a district server's, come up its link), its sender kept."""
        self._outbound[node_id].append(envelope)
        self._wake.set()

    def delivered(self, envelope: Envelope) -> None:
        """An envelope for this node that came another way (down the uplink)."""
        self.received += 1
        try:
            self._deliver(envelope)
        except Exception:
            log.exception("node bus: a message from another node could not be handled: %.200s", envelope)

    def stop_reading(self) -> None:
        self._stop_reading.set()

    def stop_writing(self) -> None:
        """The writer sends what is queued, then returns."""
        self._stop_writing.set()
        self._wake.set()

    async def write(self) -> None:
        """The one writer: everything queued, per destination in order, in one round trip."""
        while not self._stop_writing.is_set() or self._outbound:
            await self._wake.wait()
            self._wake.clear()
            outbound, self._outbound = self._outbound, defaultdict(list)
            if not outbound:
                continue
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for node_id, envelopes in outbound.items():
                        for start in range(0, len(envelopes), BATCH_LIMIT):
                            pipe.publish(INBOX.format(node_id), json.dumps(envelopes[start : start + BATCH_LIMIT]))
                    await pipe.execute()
                self.sent += sum(len(envelopes) for envelopes in outbound.values())
            except Exception:
                lost = sum(len(envelopes) for envelopes in outbound.values())
                self.lost += lost
                log.exception("node bus: %d messages to other nodes lost (store unreachable)", lost)
                if self._stop_writing.is_set():
                    return
                raise  # the supervisor runs the writer again after a pause

    async def read(self) -> None:
        """Hand each envelope from our inbox to ``deliver``, until ``stop_reading`` (restarted after store errors)."""
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(INBOX.format(self.node_id))
            self.listening.set()
            while not self._stop_reading.is_set():
                message = await pubsub.get_message(timeout=READ_TIMEOUT)
                if message is None or message.get("type") != "message":
                    continue
                for envelope in json.loads(message["data"]):
                    self.delivered(envelope)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
