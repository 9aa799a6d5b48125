"""The bench's pre-encoded tracks pause as a page does when the relay says nobody receives them."""

from __future__ import annotations

import asyncio
import time

from web.bench.clips import VIDEO_CLOCK, ClipTrack, video_clip


async def test_a_paused_clip_resumes_at_the_present_with_a_keyframe() -> None:
    clip = video_clip(width=64, height=48, fps=30, seconds=1, keyframe_every=30)
    track = ClipTrack(clip)
    started = time.monotonic()
    first = [await track.recv() for _ in range(5)]
    assert [f.pts for f in first] == [i * clip.step for i in range(5)]
    track.pause(True)
    waiting = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0.5)
    assert not waiting.done()  # nothing while paused
    track.pause(False)
    resumed = await waiting
    elapsed = time.monotonic() - started
    assert resumed.keyframe  # a receiver can start there
    assert abs(resumed.pts / VIDEO_CLOCK - elapsed) < 0.1  # its clock ran on, as a camera's does
    assert track.sent == 6  # and what passed meanwhile was not sent in a burst
