"""A receiving slot: the track a subscriber's sender reads, fed by whichever publication the room chose."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from conference.layout import Source
from conference.relay.frames import EncodedFrame

QUEUE_FRAMES = {"audio": 25, "video": 15}  # ~0.5 s: beyond that a frame is too late to be worth sending
FRAME_STEP = {"audio": 960, "video": 3000}  # one frame in RTP clock units (20 ms at 48 kHz; 1/30 s at 90 kHz)


class SlotTrack(MediaStreamTrack):
    """Bounded, drop-oldest, and silent on video until a keyframe after every change of source.

    Timestamps are rebased at each change of source so the browser sees one continuous stream on this slot.
    """

    def __init__(self, kind: str, *, on_drop: Callable[[int], None],
                 want_keyframe: Callable[[SlotTrack], None]) -> None:  # fmt: skip
        super().__init__()
        self.kind = kind
        self.source_key: Source | None = None
        self.frames_in = 0
        self._queue: deque[EncodedFrame] = deque()
        self._limit = QUEUE_FRAMES[kind]
        self._ready = asyncio.Event()
        self._on_drop = on_drop
        self._want_keyframe = want_keyframe
        self._waiting_for_keyframe = kind == "video"
        self._offset: int | None = None
        self._last_pts = 0

    def restart(self, source_key: Source | None) -> None:
        """A new source: forget the old one's frames and timing; wait for the new one's keyframe."""
        self.source_key = source_key
        self._queue.clear()
        self._offset = None
        self._waiting_for_keyframe = self.kind == "video"

    def push(self, frame: EncodedFrame) -> None:
        if self._waiting_for_keyframe:
            if not frame.keyframe:
                return
            self._waiting_for_keyframe = False
        if len(self._queue) >= self._limit:
            self._queue.popleft()
            self._on_drop(1)
        self._queue.append(frame)
        self.frames_in += 1
        self._ready.set()

    def request_keyframe(self) -> None:
        """The subscriber's browser lost the picture (PLI/FIR): pass the request on to the publisher."""
        if self.kind == "video":
            self._want_keyframe(self)

    async def recv(self) -> EncodedFrame:  # type: ignore[override]  # aiortc packetizes anything that is not a Frame
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._ready.clear()
            await self._ready.wait()
        frame = self._queue.popleft()
        if self._offset is None:
            self._offset = self._last_pts + FRAME_STEP[self.kind] - frame.pts
        self._last_pts = frame.pts + self._offset
        return frame.shifted(self._offset)

    def stop(self) -> None:
        super().stop()
        self._queue.clear()
        self._ready.set()
