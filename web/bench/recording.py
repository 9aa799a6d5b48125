"""``giaoban bench recording``: what recording one meeting costs the relay's process, in CPU.

The relay receives the chair and the floor holder whether or not the meeting is recorded, so the cost of recording
is the difference between two runs of the same process: frames of the chair and of the floor holder (pre-encoded
VP8 at ~1 Mbit/s each, and Opus) delivered at real time to the relay's publications, once with nobody attached and
once with the real recorder attached, writing its WebM files. CPU is this process's user+system time (all threads).
"""

from __future__ import annotations

import asyncio
import resource
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conference.layout import Source
from conference.recording.recorder import Recorder
from conference.relay.relay import Publication, Relay
from web.bench.clips import Clip, audio_clip, video_clip

PLAN = {
    "chair-audio": Source("chair", "audio"),
    "chair-video": Source("chair", "video"),
    "floor-audio-0": Source("floor", "audio"),
    "floor-video": Source("floor", "video"),
}  # what the room plans


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def play(publication: Publication, clip: Clip, seconds: float) -> int:
    """Deliver ``clip`` in a loop at real time, as the tap would; returns the frames delivered."""
    started = time.monotonic()
    index = 0
    while (due := index * clip.frame_seconds) < seconds:
        await asyncio.sleep(max(0.0, started + due - time.monotonic()))
        publication.deliver(clip.looped(index))
        index += 1
    return index


async def run(clips: dict[Source, Clip], seconds: float, directory: Path | None) -> dict[str, Any]:
    relay = Relay()
    publications = {source: relay.publish(source, None) for source in clips}
    closed = asyncio.Event()
    recorder = None
    if directory is not None:
        recorder = Recorder(relay, directory, meeting_id="bench", now=lambda: datetime.now(UTC),
                            describe=lambda connection: (connection, connection), on_failure=print,
                            on_closed=lambda _: closed.set())  # fmt: skip
        recorder.forward(PLAN)
    before, started = cpu_seconds(), time.monotonic()
    await asyncio.gather(*(play(publications[s], clip, seconds) for s, clip in clips.items()))
    result: dict[str, Any] = {}
    if recorder is not None:
        recorder.close("stopped")
        manifest = await recorder.finish("bench")
        result["bytes_written"] = sum(t.bytes for t in manifest.tracks)
        result["files"] = len(manifest.tracks)
        result["frames_dropped"] = recorder.dropped_frames
    result["cpu_percent"] = round(100 * (cpu_seconds() - before) / (time.monotonic() - started), 2)
    await relay.close()
    return result


async def bench(seconds: float) -> dict[str, Any]:
    chair_video = video_clip(width=640, height=480, seconds=4, bitrate_kbps=1000, noise=True)
    floor_video = video_clip(width=640, height=480, seconds=4, bitrate_kbps=1000, noise=True, shade=0.5)
    clips = {Source("chair", "audio"): audio_clip(), Source("chair", "video"): chair_video,
             Source("floor", "audio"): audio_clip(tone_hz=660), Source("floor", "video"): floor_video}  # fmt: skip
    baseline = await run(clips, seconds, None)
    with tempfile.TemporaryDirectory(prefix="giaoban-bench-") as scratch:
        recording = await run(clips, seconds, Path(scratch) / "session")
    return {
        "seconds": seconds,
        "video_kbps": round(chair_video.bitrate_kbps + floor_video.bitrate_kbps),
        "baseline_cpu_percent": baseline["cpu_percent"],
        "recording_cpu_percent": recording["cpu_percent"],
        "capture_cpu_percent": round(recording["cpu_percent"] - baseline["cpu_percent"], 2),
        "bytes_written": recording["bytes_written"],
        "files": recording["files"],
        "frames_dropped": recording["frames_dropped"],
    }


def markdown(result: dict[str, Any], command: str) -> str:
    return "\n".join([
        f"# Recording capture ({command})", "",
        f"Chair and floor holder, {result['video_kbps']} kbit/s of VP8 in all plus Opus, {result['seconds']} s.", "",
        "| run | CPU (% of one core) |", "|---|---|",
        f"| relay publications only | {result['baseline_cpu_percent']} |",
        f"| with the recorder writing | {result['recording_cpu_percent']} |",
        f"| **capture cost** | **{result['capture_cpu_percent']}** |", "",
        f"{result['files']} files, {result['bytes_written']} bytes, {result['frames_dropped']} frames dropped.", "",
    ])  # fmt: skip
