"""One browser's signaling connection: the room's ``Peer``, with a bounded outbound queue and one writer task.

The room only ever calls ``send``, ``forward`` and ``close``; each returns at once. A writer task owns the socket.
When a slow browser lets the queue fill, the oldest messages go first: state messages are snapshots, so the newest
one is what matters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Mapping
from typing import Any, Protocol

from aiohttp import web

from conference.layout import Source
from conference.relay.peer import MediaPeer
from signaling.messages import CLOSE_CODES, CLOSE_LEFT, bye, encode

log = logging.getLogger(__name__)

OUTBOUND_LIMIT = 256


class SignalingConnection(Protocol):
    """What the session and the hub use of a connection: this one (a socket here) or a browser whose socket is
    on another node of the cluster (``live/cluster.py: RemoteConnection``)."""

    id: str
    media: MediaPeer | None
    closing: str | None
    dropped_messages: int

    def send(self, message: Mapping[str, Any]) -> None: ...

    def forward(self, slots: Mapping[str, Source | None]) -> None: ...

    def close(self, reason: str) -> None: ...

    def attach_media(self, media: MediaPeer) -> None: ...

    async def finish(self) -> None: ...


class Connection:
    def __init__(self, connection_id: str, socket: web.WebSocketResponse) -> None:
        self.id = connection_id
        self.media: MediaPeer | None = None
        self.closing: str | None = None
        self.dropped_messages = 0
        self._socket = socket
        self._outbound: deque[str] = deque()
        self._wake = asyncio.Event()
        self._plan: dict[str, Source | None] = {}
        self._writer = asyncio.create_task(self._write(), name=f"ws-writer-{connection_id}")

    # --- the room's Peer -------------------------------------------------------------------------------------

    def send(self, message: Mapping[str, Any]) -> None:
        if self.closing is None:
            self.send_encoded(encode(message))

    def send_encoded(self, text: str) -> None:
        """A message already on the wire format (from the meeting's origin node, for a browser connected here)."""
        if self.closing is not None:
            return
        if len(self._outbound) >= OUTBOUND_LIMIT:
            self._outbound.popleft()
            self.dropped_messages += 1
        self._outbound.append(text)
        self._wake.set()

    def forward(self, slots: Mapping[str, Source | None]) -> None:
        self._plan = dict(slots)
        if self.media is not None:
            self.media.forward(self._plan)

    def close(self, reason: str) -> None:
        """Say goodbye with the reason (the client shows it and knows not to reconnect), then close."""
        if self.closing is None:
            self.send(bye(reason))
            self.closing = reason
            self._wake.set()

    # --- owned here --------------------------------------------------------------------------------------------

    def attach_media(self, media: MediaPeer) -> None:
        self.media = media
        media.forward(self._plan)

    async def finish(self) -> None:
        """Flush what is queued, close the socket, stop the writer and the media."""
        self.close(self.closing or "left")
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(self._writer, timeout=5)
        if self.media is not None:
            await self.media.close()

    async def _write(self) -> None:
        try:
            while True:
                while self._outbound:
                    await self._socket.send_str(self._outbound.popleft())
                if self.closing is not None:
                    break
                self._wake.clear()
                await self._wake.wait()
        except (ConnectionError, RuntimeError) as error:  # the browser went away mid-write
            log.debug("connection %s: write failed: %s", self.id, error)
        if not self._socket.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self._socket.close(code=CLOSE_CODES.get(self.closing or "", CLOSE_LEFT),
                                         message=(self.closing or "").encode())  # fmt: skip
