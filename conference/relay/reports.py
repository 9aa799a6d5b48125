"""Sender reports for every subscriber slot of the relay, from one task.

aiortc runs an RTCP task per ``RTCRtpSender`` that wakes every 0.5–1.5 s. A province's relay has ~1,100 senders
(seven per commune, seventeen for the chair): ~1,100 wake-ups a second, most for slots that have sent nothing. The
reporter walks its outlets in ten slices, one slice every 0.1 s, so every outlet that has sent something reports
about once a second (what receivers need for lip sync and round-trip time) for ten wake-ups a second in all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

log = logging.getLogger(__name__)

REPORT_SECONDS = 1.0
SLICES = 10


class Reporting(Protocol):
    async def report(self) -> None: ...


class Reporter:
    def __init__(self) -> None:
        self._outlets: dict[Reporting, None] = {}  # a set that keeps its order, so slices stay put
        self._task: asyncio.Task[None] | None = None

    def size(self) -> int:
        return len(self._outlets)

    def add(self, outlet: Reporting) -> None:
        self._outlets[outlet] = None
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="sender-reports")

    def remove(self, outlet: Reporting) -> None:
        self._outlets.pop(outlet, None)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        tick = 0
        while True:
            await asyncio.sleep(REPORT_SECONDS / SLICES)
            for outlet in list(self._outlets)[tick::SLICES]:
                try:
                    await outlet.report()
                except Exception:  # one subscriber's closing transport must not stop everyone's reports
                    log.debug("a sender report failed", exc_info=True)
            tick = (tick + 1) % SLICES
