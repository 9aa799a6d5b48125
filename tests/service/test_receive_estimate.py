"""A browser that says, without losing anything, that it cannot take what it is sent (its receive estimate, REMB):
the relay gives it a smaller size of the chair's picture, then audio only; the chair's console shows the size and
the estimate. Lines that lose packets are in test_lines.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci

from conference.layout import publishes, slots
from conference.relay.frames import vp8_size
from tests.conftest import Client
from tests.service.conftest import LiveMeeting, joined, media_joined, next_of
from web.bench.clips import audio_clip, video_clip
from web.bench.endpoint import SyntheticEndpoint


class Listener:
    """Keeps reading a signaling socket, as a browser does: the server's pings are answered only while someone
    reads, and a socket nobody reads for 10 s is dropped as silent."""

    def __init__(self, ws: ClientWebSocketResponse) -> None:
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._task = asyncio.create_task(self._read(ws))

    async def until(self, kind: str, wanted: Callable[[dict[str, Any]], bool], timeout: float) -> dict[str, Any]:
        seen = []
        try:
            async with asyncio.timeout(timeout):
                while True:
                    message = await self.messages.get()
                    if message["type"] == kind:
                        if wanted(message):
                            return message
                        seen.append(message)
        except TimeoutError:
            raise AssertionError(f"no {kind} as wanted in {timeout} s; seen {seen[-5:]}") from None

    def stop(self) -> None:
        self._task.cancel()

    async def _read(self, ws: ClientWebSocketResponse) -> None:
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                self.messages.put_nowait(json.loads(frame.data))


@pytest.fixture
async def endpoints() -> AsyncIterator[list[SyntheticEndpoint]]:
    created: list[SyntheticEndpoint] = []
    yield created
    for endpoint in created:
        await endpoint.close()


async def estimate_forever(endpoint: SyntheticEndpoint, slot: str, kbps: float) -> None:
    """Send the relay a receive estimate (REMB) for ``slot`` every half second, as Chrome does for what it receives."""
    transceiver = endpoint.pc.getTransceivers()[[*publishes("participant"), *slots("participant")].index(slot)]
    receiver = transceiver.receiver
    receiver._RTCRtpReceiver__remote_bitrate_estimator = None  # type: ignore[attr-defined]  # ours, not aiortc's
    while True:
        sources = [s.source for s in receiver.getSynchronizationSources()]
        fci = pack_remb_fci(int(kbps * 1000), sources)
        await receiver._send_rtcp(RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=1, media_ssrc=0, fci=fci))
        await asyncio.sleep(0.5)


def keyframe_sizes(commune: SyntheticEndpoint) -> list[tuple[int, int] | None]:
    return [vp8_size(f.data) for f in commune.kept["chair-video"] if f.keyframe]


async def test_a_browser_that_cannot_take_the_picture_says_so_and_gets_a_smaller_one_then_audio_only(
    client: Client, live: LiveMeeting, endpoints: list[SyntheticEndpoint]
) -> None:
    clips = {"audio": audio_clip(),
             "video": video_clip(width=640, height=480, seconds=2, keyframe_every=30, bitrate_kbps=900, noise=True),
             "video-medium": video_clip(width=480, height=272, seconds=2, keyframe_every=30, bitrate_kbps=400),
             "video-small": video_clip(width=320, height=176, seconds=2, keyframe_every=30, bitrate_kbps=150,
                                       noise=True)}  # fmt: skip
    chair_ws, _ = await media_joined(client, live, "laocai", clips, endpoints)
    chair = Listener(chair_ws)
    ws = await joined(client, live, "bac-ha.na-hoi")
    commune = SyntheticEndpoint("participant", {}, keep_video=True, publish=False)
    endpoints.append(commune)

    async def answer(sdp: str) -> str:
        await ws.send_json({"type": "offer", "sdp": sdp})
        return str((await next_of(ws, "answer", timeout=10))["sdp"])

    await commune.connect(answer)
    listener = Listener(ws)
    estimating: asyncio.Task[None] | None = None
    try:
        await commune.wait_connected()
        # a clean line: the medium size first, then the full one once a probe showed the line carries it; the page
        # is told nothing of that start (every line starts there), the chair's console shows it
        console = await chair.until("quality", lambda m: m["units"].get("bac-ha.na-hoi", {}).get("layer") == "video",
                                    timeout=20)  # fmt: skip
        assert console["units"]["bac-ha.na-hoi"]["estimate_kbps"] >= 1300
        commune.kept["chair-video"].clear()
        await asyncio.sleep(2.5)
        assert (640, 480) in keyframe_sizes(commune)

        estimating = asyncio.create_task(estimate_forever(commune, "chair-video", 400))  # queueing: ~half fits
        await listener.until("link", lambda m: m["quality"] == "weak", timeout=20)
        commune.kept["chair-video"].clear()
        for _ in range(60):  # the small size fits 400: it comes at its next key frame (its publisher was paused)
            if keyframe_sizes(commune)[-1:] == [(320, 176)]:
                break
            await asyncio.sleep(0.1)
        assert keyframe_sizes(commune)[-1:] == [(320, 176)], keyframe_sizes(commune)
        console = await chair.until("quality", lambda m: m["units"]["bac-ha.na-hoi"]["layer"] == "video-small",
                                    timeout=5)  # fmt: skip
        assert console["units"]["bac-ha.na-hoi"]["estimate_kbps"] <= 400

        estimating.cancel()
        estimating = asyncio.create_task(estimate_forever(commune, "chair-video", 60))  # not even that fits
        await listener.until("link", lambda m: m["quality"] == "poor", timeout=20)
        await asyncio.sleep(1)
        frames = commune.received["chair-video"]
        await asyncio.sleep(2)
        assert commune.received["chair-video"] == frames  # audio only
    finally:
        if estimating is not None:
            estimating.cancel()
        listener.stop()
        chair.stop()
        await ws.close()
        await chair_ws.close()
