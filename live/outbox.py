"""Messages for one WebSocket, written by one writer in the order they were put (the uplink and its other end).

Callers never wait: a message is queued, or refused when too many wait (a stuck link), and the caller counts it
as lost, as the node bus counts what a store outage kept from going.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

LIMIT = 10_000  # messages waiting for the socket


class Outbox:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue(LIMIT)

    def put(self, message: dict[str, Any]) -> bool:
        return self.put_text(json.dumps(message, separators=(",", ":"), default=str))

    def put_text(self, text: str) -> bool:
        try:
            self._queue.put_nowait(text)
        except asyncio.QueueFull:
            return False
        return True

    async def write(self, send: Callable[[str], Awaitable[None]]) -> None:
        """Until cancelled, or until the socket fails (its reader sees the close)."""
        with contextlib.suppress(ConnectionError, aiohttp.ClientError, RuntimeError):
            while True:
                await send(await self._queue.get())
