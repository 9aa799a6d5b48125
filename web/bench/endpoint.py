"""A synthetic meeting endpoint built from aiortc: publishes pre-encoded clips, counts what arrives in its slots.

It negotiates exactly as the browser client does (its published tracks first, then the role's receiving slots), so
tests and benchmarks go through the real relay path. Frames received are counted without decoding; a test can ask
for every video frame to be kept and decode them itself.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable

from aiortc import RTCPeerConnection, RTCSessionDescription

from conference.layout import kind_of, publishes, slots
from conference.relay.frames import EncodedFrame
from conference.relay.peer import media_configuration
from conference.relay.tap import tap
from web.bench.clips import Clip, ClipTrack


class SyntheticEndpoint:
    def __init__(self, role: str, clips: dict[str, Clip], *, keep_video: bool = False,
                 publish: bool = True) -> None:  # fmt: skip
        self.role = role
        self.pc = RTCPeerConnection(media_configuration([]))
        self.tracks: dict[str, ClipTrack] = {}
        self.received: dict[str, int] = defaultdict(int)
        self.keyframes: dict[str, int] = defaultdict(int)
        self.first_keyframe_at: dict[str, float] = {}
        self.keyframe_arrived: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.kept: dict[str, list[EncodedFrame]] = defaultdict(list)
        self._keep_video = keep_video
        for name in publishes(role):
            transceiver = self.pc.addTransceiver(kind_of(name), direction="sendonly")
            clip = clips.get(name) if publish else None
            if clip is not None:
                track = self.tracks[name] = ClipTrack(clip)
                transceiver.sender.replaceTrack(track)
                transceiver.sender._send_keyframe = track.request_keyframe  # type: ignore[method-assign]
        for name in slots(role):
            tap(self.pc.addTransceiver(kind_of(name), direction="recvonly").receiver, self._counter(name))

    async def connect(self, answer: Callable[[str], Awaitable[str]]) -> None:
        """Offer, let ``answer`` carry the offer to the relay, then apply the relay's answer."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer_sdp = await answer(self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    async def wait_connected(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.pc.connectionState != "connected":
            if time.monotonic() > deadline or self.pc.connectionState in ("failed", "closed"):
                raise TimeoutError(f"media connection {self.pc.connectionState}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        await self.pc.close()

    def _counter(self, name: str) -> Callable[[EncodedFrame], None]:
        def count(frame: EncodedFrame) -> None:
            self.received[name] += 1
            if frame.keyframe and kind_of(name) == "video":
                self.keyframes[name] += 1
                self.first_keyframe_at.setdefault(name, time.monotonic())
                self.keyframe_arrived[name].set()
            if self._keep_video and kind_of(name) == "video":
                self.kept[name].append(frame)

        return count
