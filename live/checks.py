"""Technical checks on this node: a browser's small picture sent back to it through the relay, and its line tested.

A check needs no room and no origin: it is one media connection on the node that has its socket (a check's
socket stays on one process), so it works days before a meeting, with nobody else there. The relay forwards the
browser's own camera back to it (``conference/layout.py: CHECK``) and pads that stream stage by stage
(``conference/line_test.py``); the browser says what its devices did; ``scheduler/readiness.py`` gives the verdict,
kept per meeting and unit for the host's readiness table.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from conference.layout import CHECK, CHECK_PUBLISHES, CHECK_SLOT, Source
from conference.line_test import LineResult, LineTest
from conference.relay.peer import MediaPeer
from live.meetings import LiveMeetings
from scheduler.errors import RateLimited
from scheduler.invitations.tokens import JoinGrant, check_window_for_check, meeting_for
from scheduler.meetings.model import Meeting
from scheduler.readiness import Check, Devices, ReadinessStore, judge

MAX_CHECKS = 6  # at once on one node: each pads its line up to ~1.4 Mbit/s for ~10 s
MEDIA_TIMEOUT = 15.0  # seconds for the echoed picture to start flowing; none: the line carries nothing
LINE_TIMEOUT = 25.0
POLL_SECONDS = 0.1


class Checks:
    def __init__(self, hub: LiveMeetings, readiness: ReadinessStore) -> None:
        self._hub = hub
        self._readiness = readiness
        self.running = 0

    async def admit(self, token: str) -> tuple[JoinGrant, Meeting]:
        grant = await self._hub.links.grant_of(token)
        now = self._hub.clock.now()
        meeting = await meeting_for(grant, self._hub.meetings, now)
        check_window_for_check(meeting, grant, now)
        return grant, meeting

    async def start(self, token: str, offer_sdp: str) -> tuple[CheckRun, str]:
        """A check begun: its connection to the relay and the answer to its offer."""
        unit, save = await self._admitted(token)
        if self.running >= MAX_CHECKS:
            raise RateLimited("Too many technical checks are running; please try again in a minute")
        hub = self._hub
        run = CheckRun(self, unit, save, MediaPeer(hub.relay, connection=hub.new_connection_id(), role=CHECK,
                                                   ice_servers=hub.ice.for_aiortc(time.time())))  # fmt: skip
        self.running += 1
        try:
            answer = await run.media.answer(offer_sdp)
        except BaseException:
            await run.close()
            raise
        run.media.forward({CHECK_SLOT: run.camera})
        return run, answer

    async def _admitted(self, token: str) -> tuple[str, Save]:
        """The link's unit, and where its verdict goes: this server's readiness table, or on a district server for
        a link of its province's, the province's (the check runs here all the same: it tests the line the
        commune's media will use)."""
        uplink = self._hub.cluster.uplink if self._hub.cluster is not None else None
        if uplink is not None and not await self._hub.links.is_ours(token):
            unit, _ = await uplink.admit_check(token)

            async def upstream(check: Check) -> None:
                await uplink.save_check(token, check.to_json())

            return unit, upstream
        grant, meeting = await self.admit(token)

        async def here(check: Check) -> None:
            await self.save(meeting.id, check)

        return grant.unit, here

    async def save(self, meeting_id: str, check: Check) -> None:
        await self._readiness.save(meeting_id, check)

    def now(self) -> datetime:
        return self._hub.clock.now()


Save = Callable[[Check], Awaitable[None]]


class CheckRun:
    def __init__(self, checks: Checks, unit: str, save: Save, media: MediaPeer) -> None:
        self.unit = unit
        self.media = media
        self._save = save
        self.camera = Source(media.connection, CHECK_PUBLISHES[0])
        self._checks = checks
        self._closed = False
        self._line: LineResult | None = None

    async def test_line(self, progress: Callable[[float], Awaitable[None]]) -> LineResult:
        """Wait for the echoed picture, then run the stages; ``progress`` hears how far it is."""
        media, started = self.media, time.monotonic()
        while media.sent_bytes() == 0:
            if time.monotonic() - started > MEDIA_TIMEOUT:
                self._line = LineTest(started).result()  # nothing got through: "none"
                return self._line
            await asyncio.sleep(POLL_SECONDS)
        test = media.line_test = LineTest(time.monotonic())
        received_before, since = self._received(), time.monotonic()
        while not test.done and time.monotonic() - started < LINE_TIMEOUT:
            await progress(test.progress(time.monotonic()))
            await asyncio.sleep(POLL_SECONDS * 5)
        result = test.result()
        uplink = (self._received() - received_before) * 8 / 1000 / max(1e-3, time.monotonic() - since)
        self._line = dataclasses.replace(result, uplink_kbps=uplink)
        return self._line

    async def finish(self, devices: Devices) -> Check:
        """The verdict, saved as the unit's latest check for this meeting."""
        line = self._line.to_json() if self._line is not None else {"level": "none"}
        check = judge(self.unit, self._checks.now(), devices, line)
        await self._save(check)
        return check

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._checks.running -= 1
        with contextlib.suppress(Exception):
            await self.media.close()

    def _received(self) -> int:
        return self.media.received_bytes()
