"""The relay's link adaptation, from one task: every subscriber's line judged twice a second, probes paced.

Each media connection keeps its own estimate (conference/link.py) and picks the sizes its line carries
(conference/allocation.py); this runs them, limits how many probe at once (padding costs the server's uplink and the
relay's CPU: a province joining at once must not probe all together), paces the probes' padding every 20 ms, and
tells each voice's publisher the worst loss among its listeners, so that its Opus encoder protects the voice
(in-band FEC) as much as the weakest line needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Protocol

from conference.link import TICK_SECONDS

log = logging.getLogger(__name__)

PACE_SECONDS = 0.02
MAX_PROBES = 8  # connections probing at once
MAX_LOSS_TOLD = 0.2  # Opus FEC helps up to about this; beyond, the line is audio-only anyway


class Adapting(Protocol):
    @property
    def probing(self) -> bool: ...

    def adapt(self, now: float, may_probe: bool) -> None: ...

    def pad(self, now: float) -> None: ...


class Voice(Protocol):
    """An audio publication as the adapter sees it."""

    def listeners_loss(self) -> float: ...

    def tell(self, loss: float) -> None: ...


class Adapter:
    def __init__(self, voices: Callable[[], list[Voice]]) -> None:
        self._voices = voices
        self._connections: dict[Adapting, None] = {}  # in joining order: the earliest probe first
        self._task: asyncio.Task[None] | None = None
        self._pacer: asyncio.Task[None] | None = None

    def size(self) -> int:
        return len(self._connections)

    def add(self, connection: Adapting) -> None:
        self._connections[connection] = None
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="link-adaptation")

    def remove(self, connection: Adapting) -> None:
        self._connections.pop(connection, None)

    async def close(self) -> None:
        for task in (self._task, self._pacer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._pacer = None

    def tick(self, now: float) -> None:
        """Judge every line once (the task does this twice a second; tests call it themselves)."""
        probing = sum(1 for c in self._connections if c.probing)
        for connection in list(self._connections):
            was = connection.probing
            try:
                connection.adapt(now, was or probing < MAX_PROBES)
            except Exception:  # one connection closing under us must not stop everyone's adaptation
                log.exception("link adaptation failed for one connection")
                continue
            probing += int(connection.probing) - int(was)
        for voice in self._voices():
            voice.tell(min(MAX_LOSS_TOLD, voice.listeners_loss()))
        if probing and (self._pacer is None or self._pacer.done()):
            self._pacer = asyncio.get_running_loop().create_task(self._pace(), name="probe-pacer")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            self.tick(time.monotonic())

    async def _pace(self) -> None:
        """Padding for the connections that probe, a little every 20 ms (a burst would only fill the line's queue)."""
        while True:
            await asyncio.sleep(PACE_SECONDS)
            now = time.monotonic()
            probing = [c for c in self._connections if c.probing]
            if not probing:
                return
            for connection in probing:
                try:
                    connection.pad(now)
                except Exception:
                    log.debug("padding failed", exc_info=True)
