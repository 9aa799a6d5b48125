"""The program video: one file that follows the meeting as people saw it, composed from the track files.

The chair fills the picture; whoever has the floor is inset at the bottom right; the sound is the chair and the
floor mixed. Output is MP4 (H.264 and AAC), which the players on office PCs open as well as browsers do.

This is the only place in giaoban that decodes and encodes. It runs as its own process at the lowest CPU priority
(``python -m conference.recording.program DIR OUT``), printing ``progress 0.42`` lines, so it never competes with
the live relay for the interpreter, and dies with the service that started it.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.container
import numpy as np

from conference.recording.manifest import CHAIR, FLOOR, PRESENTATION, Manifest, TrackEntry

WIDTH, HEIGHT = 960, 540
FPS = 25
FRAME_MS = 1000 // FPS
INSET_WIDTH = 320  # a third of the picture
MARGIN = 16
SAMPLE_RATE = 48000
AAC_FRAME = 1024
BLACK_Y, GREY_UV, WHITE_Y = 16, 128, 235


def _even(value: float, step: int = 4) -> int:
    return max(step, int(value) // step * step)


class Picture:
    """A YUV 4:2:0 canvas cut into its three planes, so pictures can be pasted with plain slicing."""

    def __init__(self, width: int, height: int, planes: np.ndarray | None = None) -> None:
        self.width, self.height = width, height
        if planes is None:
            planes = np.empty(width * height * 3 // 2, dtype=np.uint8)
            planes[: width * height] = BLACK_Y
            planes[width * height :] = GREY_UV
        self.data = planes.reshape(-1)
        quarter = width * height // 4
        self.y = self.data[: width * height].reshape(height, width)
        self.u = self.data[width * height : width * height + quarter].reshape(height // 2, width // 2)
        self.v = self.data[width * height + quarter :].reshape(height // 2, width // 2)

    @classmethod
    def of(cls, frame: av.VideoFrame, width: int, height: int) -> Picture:
        return cls(width, height, frame.reformat(width=width, height=height, format="yuv420p").to_ndarray())

    def paste(self, other: Picture, left: int, top: int) -> None:
        self.y[top : top + other.height, left : left + other.width] = other.y
        half = (slice(top // 2, (top + other.height) // 2), slice(left // 2, (left + other.width) // 2))
        self.u[half], self.v[half] = other.u, other.v

    def fill(self, left: int, top: int, width: int, height: int, luma: int) -> None:
        self.y[top : top + height, left : left + width] = luma
        self.u[top // 2 : (top + height) // 2, left // 2 : (left + width) // 2] = GREY_UV
        self.v[top // 2 : (top + height) // 2, left // 2 : (left + width) // 2] = GREY_UV

    def frame(self) -> av.VideoFrame:
        return av.VideoFrame.from_ndarray(self.data.reshape(-1, self.width), format="yuv420p")


def fit(width: int, height: int, box_width: int, box_height: int) -> tuple[int, int]:
    scale = min(box_width / width, box_height / height)
    return _even(width * scale), _even(height * scale)


class VideoTrack:
    """One video file decoded forward in step with the program; keeps the latest picture due."""

    def __init__(self, directory: Path, entry: TrackEntry) -> None:
        self.entry = entry
        self._container = av.open(str(directory / entry.file))
        self._frames = self._decode()
        self._next: av.VideoFrame | None = next(self._frames, None)
        self.latest: av.VideoFrame | None = None

    def _decode(self) -> Iterator[av.VideoFrame]:
        for frame in self._container.decode(video=0):
            if frame.pts is not None:
                yield frame

    def advance(self, ms: int) -> None:
        while self._next is not None and self._ms(self._next) + self.entry.offset_ms <= ms:
            self.latest, self._next = self._next, next(self._frames, None)

    def shown_at(self, ms: int) -> av.VideoFrame | None:
        """The picture to show at ``ms``: only while the room forwarded this track."""
        on_air = any(start <= ms < end for start, end in self.entry.intervals)
        return self.latest if on_air else None

    @staticmethod
    def _ms(frame: av.VideoFrame) -> int:
        return int((frame.time or 0) * 1000)

    def close(self) -> None:
        self._container.close()


class AudioTrack:
    """One audio file decoded forward; hands out mono float samples by absolute position (silence in the gaps)."""

    def __init__(self, directory: Path, entry: TrackEntry) -> None:
        self._container = av.open(str(directory / entry.file))
        self._offset = entry.offset_ms * SAMPLE_RATE // 1000
        self._resampler = av.AudioResampler(format="fltp", layout="mono", rate=SAMPLE_RATE)
        self._frames = self._container.decode(audio=0)
        self._chunks: deque[tuple[int, np.ndarray]] = deque()  # (first sample, samples)
        self._decoded_to = 0
        self._done = False

    def take(self, start: int, count: int) -> np.ndarray:
        end = start + count
        while not self._done and self._decoded_to < end:
            self._decode_one()
        out = np.zeros(count, dtype=np.float32)
        while self._chunks and self._chunks[0][0] + len(self._chunks[0][1]) <= start:
            self._chunks.popleft()
        for first, samples in self._chunks:
            if first >= end:
                break
            lo, hi = max(first, start), min(first + len(samples), end)
            if lo < hi:
                out[lo - start : hi - start] += samples[lo - first : hi - first]
        return out

    def _decode_one(self) -> None:
        frame = next(self._frames, None)
        if frame is None:
            self._done = True
            return
        if frame.time is None:
            return
        first = self._offset + int(frame.time * SAMPLE_RATE)
        for mono in self._resampler.resample(frame):
            samples = mono.to_ndarray().reshape(-1).astype(np.float32)
            self._chunks.append((first, samples))
            first += len(samples)
        self._decoded_to = max(self._decoded_to, first)

    def close(self) -> None:
        self._container.close()


def compose(directory: Path, output: Path, progress: Callable[[float], None] = lambda _: None) -> None:
    """Write the program of the recording in ``directory`` to ``output`` (MP4), reporting progress 0..1."""
    manifest = Manifest.load(directory)
    videos = [VideoTrack(directory, t) for t in manifest.tracks if t.kind == "video"]
    audios = [AudioTrack(directory, t) for t in manifest.tracks if t.kind == "audio"]
    container = av.open(str(output), "w", format="mp4", options={"movflags": "+faststart"})
    try:
        _write(container, manifest, videos, audios, progress)
    finally:
        container.close()
        for track in [*videos, *audios]:
            track.close()  # type: ignore[attr-defined]  # both kinds have one


def _write(container: av.container.OutputContainer, manifest: Manifest, videos: list[VideoTrack],
           audios: list[AudioTrack], progress: Callable[[float], None]) -> None:  # fmt: skip
    video = container.add_stream("libx264", rate=FPS, options={"preset": "veryfast", "crf": "26"})
    video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    audio = container.add_stream("aac", rate=SAMPLE_RATE)
    audio.layout = "mono"
    audio_written = 0
    reported = -1.0
    for index in range(max(1, manifest.duration_ms // FRAME_MS)):
        ms = index * FRAME_MS
        for track in videos:
            track.advance(ms)
        picture = frame_at(ms, videos).frame()
        picture.pts, picture.time_base = index, Fraction(1, FPS)
        container.mux(video.encode(picture))
        while audio_written < (ms + FRAME_MS) * SAMPLE_RATE // 1000:
            mixed = sum((track.take(audio_written, AAC_FRAME) for track in audios), np.zeros(AAC_FRAME, np.float32))
            sound = av.AudioFrame.from_ndarray(np.clip(mixed, -1, 1).reshape(1, -1), format="fltp", layout="mono")
            sound.sample_rate, sound.pts, sound.time_base = SAMPLE_RATE, audio_written, Fraction(1, SAMPLE_RATE)
            container.mux(audio.encode(sound))
            audio_written += AAC_FRAME
        done = ms / max(manifest.duration_ms, 1)
        if done - reported >= 0.02:
            progress(done)
            reported = done
    container.mux(video.encode(None))
    container.mux(audio.encode(None))


def frame_at(ms: int, videos: list[VideoTrack]) -> Picture:
    """The chair full-frame, the floor holder inset with a thin white border; while a presentation runs, the
    presentation full-frame and the speaker (the floor holder, else the chair) inset."""
    canvas = Picture(WIDTH, HEIGHT)
    chair = next((p for t in videos if t.entry.role == CHAIR and (p := t.shown_at(ms)) is not None), None)
    floor = next((p for t in videos if t.entry.role == FLOOR and (p := t.shown_at(ms)) is not None), None)
    shown = next((p for t in videos if t.entry.role == PRESENTATION and (p := t.shown_at(ms)) is not None), None)
    if shown is not None:
        chair, floor = shown, floor or chair
    if chair is not None:
        width, height = fit(chair.width, chair.height, WIDTH, HEIGHT)
        canvas.paste(Picture.of(chair, width, height), (WIDTH - width) // 2 // 4 * 4, (HEIGHT - height) // 2 // 4 * 4)
    if floor is not None:
        width, height = fit(floor.width, floor.height, INSET_WIDTH, HEIGHT // 2)
        left, top = WIDTH - MARGIN - width, HEIGHT - MARGIN - height
        canvas.fill(left - 4, top - 4, width + 8, height + 8, WHITE_Y)
        canvas.paste(Picture.of(floor, width, height), left, top)
    return canvas


def main(argv: list[str]) -> int:
    """``DIR OUT``: compose at the lowest priority; stop if the service that started us has gone."""
    directory, output = Path(argv[0]), Path(argv[1])
    os.nice(19)
    parent = os.getppid()

    def report(done: float) -> None:
        if os.getppid() != parent:
            raise SystemExit(3)  # orphaned: the restarted service will redo this job
        print(f"progress {done:.3f}", flush=True)

    compose(directory, output, report)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
