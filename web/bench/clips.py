"""Pre-encoded media for synthetic endpoints: they publish real VP8 and Opus without paying to encode live.

A clip is encoded once (a moving test pattern, a tone); a ``ClipTrack`` then plays it in a loop at real time. On a
keyframe request it skips ahead to the clip's next keyframe, which keeps the stream decodable, so a clip with rare
keyframes still answers PLI quickly, as a browser would.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import time
from dataclasses import dataclass

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from conference.relay.frames import EncodedFrame

VIDEO_CLOCK = 90_000
AUDIO_CLOCK = 48_000


@dataclass(frozen=True)
class Clip:
    kind: str
    frames: tuple[EncodedFrame, ...]
    frame_seconds: float

    @property
    def step(self) -> int:
        """One frame in RTP clock units."""
        return self.frames[1].pts - self.frames[0].pts if len(self.frames) > 1 else 1

    def looped(self, index: int) -> EncodedFrame:
        """Frame ``index`` of the clip played in a loop, its timestamp running on past the clip's end."""
        frame = self.frames[index % len(self.frames)]
        return EncodedFrame(frame.data, index * self.step, frame.time_base, frame.keyframe)

    @property
    def bitrate_kbps(self) -> float:
        total = sum(len(f.data) for f in self.frames)
        return total * 8 / 1000 / (len(self.frames) * self.frame_seconds)


def video_clip(*, width: int = 320, height: int = 240, fps: int = 30, seconds: float = 4.0,
               keyframe_every: int = 60, bitrate_kbps: int = 600, noise: bool = False,
               shade: float = 1.0) -> Clip:  # fmt: skip
    """``noise`` adds camera-like grain, so the encoder really spends the bitrate it is given; ``shade`` below 1
    darkens the picture, so that tests can tell two publishers apart at a glance."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = "yuv420p"
    codec.time_base = fractions.Fraction(1, fps)
    codec.bit_rate = bitrate_kbps * 1000
    codec.gop_size = keyframe_every
    # max-intra-rate: a key frame at most 4.5 times an average frame, as libwebrtc holds Chrome's VP8 encoder (a key
    # frame several times larger would be a burst no browser sends, and overflow a slow line's queue by itself)
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0", "kf-max-dist": str(keyframe_every),
                     "max-intra-rate": "450"}  # fmt: skip
    time_base = fractions.Fraction(1, VIDEO_CLOCK)
    grain = np.random.default_rng(7)
    frames: list[EncodedFrame] = []
    for index in range(int(fps * seconds)):
        pixels = _pattern(index, width, height)
        if shade != 1.0:
            pixels = (pixels * shade).astype(np.uint8)
        if noise:
            pixels = (pixels ^ grain.integers(0, 24, pixels.shape, dtype=np.uint8)).astype(np.uint8)
        picture = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuv420p")
        picture.pts = index
        for packet in codec.encode(picture):
            data = bytes(packet)
            frames.append(EncodedFrame(data, len(frames) * VIDEO_CLOCK // fps, time_base, not data[0] & 1))
    for packet in codec.encode(None):
        data = bytes(packet)
        frames.append(EncodedFrame(data, len(frames) * VIDEO_CLOCK // fps, time_base, not data[0] & 1))
    return Clip("video", tuple(frames), 1 / fps)


def audio_clip(*, seconds: float = 1.0, tone_hz: float = 440.0) -> Clip:
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate = AUDIO_CLOCK
    codec.layout = "stereo"
    codec.format = "s16"
    codec.bit_rate = 32_000
    codec.time_base = fractions.Fraction(1, AUDIO_CLOCK)
    samples_per_frame = AUDIO_CLOCK // 50
    time_base = fractions.Fraction(1, AUDIO_CLOCK)
    frames: list[EncodedFrame] = []
    for index in range(int(seconds * 50)):
        t = (np.arange(samples_per_frame) + index * samples_per_frame) / AUDIO_CLOCK
        tone = (np.sin(2 * math.pi * tone_hz * t) * 8000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(tone, 2).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = AUDIO_CLOCK
        frame.pts = index * samples_per_frame
        for packet in codec.encode(frame):
            frames.append(EncodedFrame(bytes(packet), len(frames) * samples_per_frame, time_base, True))
    return Clip("audio", tuple(frames), 0.02)


def _pattern(index: int, width: int, height: int) -> np.ndarray:
    """A picture that changes every frame: a bright bar sweeping across a gradient."""
    picture = np.zeros((height, width, 3), dtype=np.uint8)
    picture[:, :, 0] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
    picture[:, :, 1] = np.linspace(0, 255, height, dtype=np.uint8)[:, None]
    bar = (index * 8) % width
    picture[:, bar : bar + 16, :] = 255
    return picture


class ClipTrack(MediaStreamTrack):
    """Plays a clip in a loop at real time; answers a keyframe request by skipping to the next keyframe. Paused, it
    sends nothing, and resumes at the present with a keyframe, its timestamps having run on as a camera's do."""

    def __init__(self, clip: Clip) -> None:
        super().__init__()
        self.kind = clip.kind
        self.sent = 0
        self.keyframe_requests = 0
        self._clip = clip
        self._index = 0
        self._start: float | None = None
        self._skip_to_keyframe = False
        self._skipped = 0  # frame times that passed while paused
        self._playing = asyncio.Event()
        self._playing.set()

    def pause(self, paused: bool) -> None:
        if paused:
            self._playing.clear()
        else:
            self._playing.set()

    def request_keyframe(self) -> None:
        self.keyframe_requests += 1
        self._skip_to_keyframe = True

    async def recv(self) -> EncodedFrame:  # type: ignore[override]  # aiortc packetizes anything not a Frame
        if self.readyState != "live":
            raise MediaStreamError
        if not self._playing.is_set():
            await self._playing.wait()
            if self._start is not None:  # resume now, as a camera would: the frame times passed are not sent
                behind = (time.monotonic() - self._start) / self._clip.frame_seconds - (self.sent + self._skipped)
                self._skipped += max(0, int(behind))
                self._skip_to_keyframe = True
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + (self.sent + self._skipped) * self._clip.frame_seconds - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        frames = self._clip.frames
        if self._skip_to_keyframe:
            self._skip_to_keyframe = False
            while not frames[self._index % len(frames)].keyframe:
                self._index += 1
        frame = frames[self._index % len(frames)]
        self._index += 1
        pts = (self.sent + self._skipped) * self._clip.step
        self.sent += 1
        return EncodedFrame(frame.data, pts, frame.time_base, frame.keyframe)
