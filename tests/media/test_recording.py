"""Recording a meeting of real aiortc peers: track files written without codecs, a program that follows the floor."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from conference.layout import Source
from conference.members import MeetingFacts
from conference.recording.manifest import Manifest
from conference.recording.program import HEIGHT, INSET_WIDTH, MARGIN, WIDTH, compose
from conference.recording.recorder import Recorder
from conference.relay.peer import MediaPeer
from conference.room import Room
from tests.media.test_relay import Relayed, count_codec_calls
from web.bench.clips import Clip, audio_clip, video_clip

CHAIR_SHOWN, FLOOR_GIVEN_AT, STOP_AT = 0.0, 5.0, 10.0  # seconds into the recording


class MediaOnly:
    """A room peer that only switches its media slots (these tests have no signaling)."""

    def __init__(self, media: MediaPeer) -> None:
        self._media = media

    def send(self, message: Mapping[str, Any]) -> None: ...

    def forward(self, slots: Mapping[str, Source | None]) -> None:
        self._media.forward(slots)

    def close(self, reason: str) -> None: ...


@dataclass
class Recorded:
    directory: Path
    manifest: Manifest
    floor_given_ms: int
    codec_calls: dict[str, int]


@pytest.fixture(scope="module")
def chair_clips() -> dict[str, Clip]:
    return {"audio": audio_clip(), "video": video_clip(width=640, height=480, seconds=4),
            "video-medium": video_clip(width=240, height=180, seconds=4, keyframe_every=30),
            "video-small": video_clip(width=160, height=120, seconds=4)}  # fmt: skip


@pytest.fixture(scope="module")
def commune_clips() -> dict[str, Clip]:
    return {"audio": audio_clip(tone_hz=660), "video": video_clip(seconds=4, shade=0.25)}


@pytest.fixture(scope="module")
async def recorded(tmp_path_factory: pytest.TempPathFactory, chair_clips: dict[str, Clip],
                   commune_clips: dict[str, Clip]) -> AsyncIterator[Recorded]:  # fmt: skip
    relayed = Relayed()
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            codec_calls = count_codec_calls(monkeypatch)
            await relayed.attach("chair", "chair", chair_clips)
            await relayed.attach("x01", "participant", commune_clips)
            directory, manifest, floor_given_ms = await record_meeting(relayed, tmp_path_factory.mktemp("rec"))
        yield Recorded(directory, manifest, floor_given_ms, dict(codec_calls))
    finally:
        await relayed.close()


def recorded_room(relayed: Relayed, directory: Path) -> tuple[Room, Recorder, asyncio.Event]:
    """The chair and commune X01 (connections ``chair`` and ``x01``) in a room whose recording has started."""
    room = Room(MeetingFacts("m1", "Giao ban", "TINH", ("X01",)), now=lambda: datetime.now(UTC),
                record=lambda event: None)  # fmt: skip
    room.join(MediaOnly(relayed.peers["chair"]), connection="chair", unit="TINH", role="chair", name="Chủ trì")
    room.join(MediaOnly(relayed.peers["x01"]), connection="x01", unit="X01", role="participant", name="Xã Một")
    closed = asyncio.Event()
    recorder = Recorder(relayed.relay, directory / "s1", meeting_id="m1", now=lambda: datetime.now(UTC),
                        describe=room.describe, on_failure=lambda problem: room.stop_recording(None, problem),
                        on_closed=lambda _: closed.set())  # fmt: skip
    room.start_recording("chair", recorder)
    return room, recorder, closed


async def stopped(room: Room, recorder: Recorder, closed: asyncio.Event) -> Manifest:
    room.stop_recording("chair")
    await closed.wait()
    manifest = await recorder.finish("s1")
    manifest.save(recorder.directory)
    return manifest


async def record_meeting(relayed: Relayed, directory: Path) -> tuple[Path, Manifest, int]:
    """Ten seconds of a chair and a commune; the commune gets the floor halfway through."""
    room, recorder, closed = recorded_room(relayed, directory)
    started = time.monotonic()
    await asyncio.sleep(FLOOR_GIVEN_AT)
    room.give_floor("chair", "X01")
    floor_given_ms = int((time.monotonic() - started) * 1000)
    await asyncio.sleep(STOP_AT - FLOOR_GIVEN_AT)
    return recorder.directory, await stopped(room, recorder, closed), floor_given_ms


def decode_all(path: Path) -> tuple[int, int, float]:
    """(packets, decoded frames, duration in seconds) of a one-track file."""
    with av.open(str(path)) as container:
        stream = container.streams[0]
        packets = frames = 0
        for packet in container.demux(stream):
            if packet.size:
                packets += 1
                frames += len(packet.decode())
        return packets, frames, float(container.duration or 0) / av.time_base


async def test_track_files_are_written_without_codecs_and_every_frame_decodes(recorded: Recorded) -> None:
    assert recorded.codec_calls == {"encode": 0, "decode": 0}
    tracks = {(t.unit, t.role, t.kind): t for t in recorded.manifest.tracks}
    assert set(tracks) == {("TINH", "chair", "audio"), ("TINH", "chair", "video"),
                           ("X01", "floor", "audio"), ("X01", "floor", "video")}  # fmt: skip
    for (_, _, kind), entry in tracks.items():
        packets, frames, duration = decode_all(recorded.directory / entry.file)
        expected = (entry.intervals[-1][1] - entry.intervals[0][0]) / 1000  # first to last frame, gaps and all
        assert abs(duration - expected) <= 0.1 * expected + 0.1, (entry.file, duration, expected)
        assert packets > (20 if kind == "video" else 40) * expected
        assert frames == packets, (entry.file, frames, packets)  # every frame written decodes
        assert entry.bytes == (recorded.directory / entry.file).stat().st_size
    chair_interval = tracks["TINH", "chair", "video"].intervals
    assert len(chair_interval) == 1 and abs(chair_interval[0][1] / 1000 - STOP_AT) < 0.5


async def test_the_manifest_says_who_held_the_floor_in_wall_clock_time(recorded: Recorded) -> None:
    [held] = recorded.manifest.floor_timeline()
    assert (held["unit"], held["name"]) == ("X01", "Xã Một")
    started = recorded.manifest.started_at
    assert abs((datetime.fromisoformat(held["from"]) - started).total_seconds() - FLOOR_GIVEN_AT) < 0.5
    assert abs((datetime.fromisoformat(held["to"]) - started).total_seconds() - STOP_AT) < 0.5
    assert Manifest.load(recorded.directory) == recorded.manifest


def inset_luma(picture: av.VideoFrame) -> tuple[float, float]:
    """Mean brightness of the inset's place, and of its white border's top edge."""
    luma = picture.to_ndarray(format="gray")
    bottom, right = HEIGHT - MARGIN, WIDTH - MARGIN
    region = luma[bottom - 100 : bottom, right - INSET_WIDTH + 20 : right]
    border = luma[bottom - 243 : bottom - 241, right - INSET_WIDTH + 4 : right - 4]  # a 320x240 inset's top edge
    return float(region.mean()), float(border.mean())


async def test_the_program_shows_the_chair_and_insets_the_floor_holder(recorded: Recorded) -> None:
    output = recorded.directory / "program.mp4"
    reported: list[float] = []
    compose(recorded.directory, output, reported.append)
    assert reported and reported == sorted(reported) and reported[-1] > 0.9
    with av.open(str(output)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, audio.codec_context.name) == ("h264", "aac")
        assert (video.codec_context.width, video.codec_context.height) == (WIDTH, HEIGHT)
        assert abs(float(container.duration or 0) / av.time_base - STOP_AT) < 1.0
        pictures = [(float(f.time), f) for f in container.decode(video=0)]
    given = recorded.floor_given_ms / 1000
    before = [inset_luma(p) for t, p in pictures if 1.0 <= t <= given - 0.5]
    after = [inset_luma(p) for t, p in pictures if given + 1.0 <= t <= 9.0]
    assert len(before) > 50 and len(after) > 50
    # The chair's bright gradient, then the commune's dark picture framed in white.
    assert np.mean([r for r, _ in before]) - np.mean([r for r, _ in after]) > 40, (before[:3], after[:3])
    assert np.mean([b for _, b in after]) > 200 > np.mean([b for _, b in before])
    with av.open(str(output)) as container:
        sound = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    assert np.abs(sound).max() > 0.05  # the tones are there


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 700 KB file system of its own (tmpfs): fills in a few seconds of video. Needs root, as CI has."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=700k", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=True)


async def test_a_full_disk_stops_the_recording_cleanly_and_what_was_written_plays(
    small_disk: Path, chair_clips: dict[str, Clip]
) -> None:
    relayed = Relayed()
    try:
        await relayed.attach("chair", "chair", chair_clips)
        room = Room(MeetingFacts("m1", "Giao ban", "TINH", ()), now=lambda: datetime.now(UTC), record=lambda e: None)
        room.join(MediaOnly(relayed.peers["chair"]), connection="chair", unit="TINH", role="chair", name="Chủ trì")
        closed = asyncio.Event()
        recorder = Recorder(relayed.relay, small_disk / "s1", meeting_id="m1", now=lambda: datetime.now(UTC),
                            describe=room.describe, on_failure=lambda problem: room.stop_recording(None, problem),
                            on_closed=lambda _: closed.set(), keep_free_bytes=400 * 1024)  # fmt: skip
        room.start_recording("chair", recorder)
        await asyncio.wait_for(closed.wait(), 30)  # ~75 KB/s of video: full well within that
        manifest = await recorder.finish("s1")
    finally:
        await relayed.close()
    assert manifest.stopped == "disk_full"
    assert room.recording is False and room.recording_problem == "disk_full"  # what the chair's console shows
    video = next(t for t in manifest.tracks if t.kind == "video")
    packets, frames, duration = decode_all(small_disk / "s1" / video.file)
    assert packets > 30 and duration > 1.0
    assert frames == packets  # every frame that reached the disk decodes
    assert abs(duration - video.duration_seconds) < 0.2  # closed properly: the duration is in the file


def centre_luma(picture: av.VideoFrame) -> float:
    """Mean brightness of the program's centre, where the full-frame picture is."""
    luma = picture.to_ndarray(format="gray")
    return float(luma[HEIGHT // 4 : HEIGHT // 2, WIDTH // 4 : WIDTH // 2].mean())


async def test_a_presentation_is_recorded_as_its_own_track_and_fills_the_program_while_it_runs(
    tmp_path: Path, chair_clips: dict[str, Clip], commune_clips: dict[str, Clip]
) -> None:
    relayed = Relayed()
    slides = {**commune_clips, "screen": video_clip(width=1280, height=720, seconds=4, keyframe_every=30, shade=0.2)}
    try:
        await relayed.attach("chair", "chair", chair_clips)  # a bright picture
        await relayed.attach("x01", "participant", slides)  # its screen, dark: told apart at a glance
        room, recorder, closed = recorded_room(relayed, tmp_path)
        await asyncio.sleep(3)
        room.give_floor("chair", "X01")
        room.share("x01", True)
        await asyncio.sleep(4)
        room.take_floor("chair")  # and with the floor, the presentation ends
        await asyncio.sleep(3)
        manifest = await stopped(room, recorder, closed)
    finally:
        await relayed.close()
    [presented] = manifest.presentation_timeline()
    assert (presented["unit"], presented["name"]) == ("X01", "Xã Một")
    screen = next(t for t in manifest.tracks if t.role == "presentation")
    assert screen.kind == "video" and screen.file.endswith(".webm") and screen.bytes > 10_000
    compose(recorder.directory, tmp_path / "program.mp4", lambda done: None)
    with av.open(str(tmp_path / "program.mp4")) as container:
        pictures = [(float(f.time), centre_luma(f)) for f in container.decode(video=0)]
    before = [luma for t, luma in pictures if 0.5 <= t <= 2.5]
    during = [luma for t, luma in pictures if 4.0 <= t <= 6.5]
    after = [luma for t, luma in pictures if 8.0 <= t <= 9.5]
    assert before and during and after
    # the chair's bright picture, then the dark presentation full-frame, then the chair again
    assert np.mean(before) - np.mean(during) > 40 and np.mean(after) - np.mean(during) > 40, (before[:2], during[:2])
