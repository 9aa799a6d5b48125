"""Received encoded frames into WebM files, one file per published track, without decoding or encoding anything.

One thread owns the files of a recording: the event loop only enqueues, so a slow or stalled disk never holds up
the relay. Times come from the track's own RTP clock (smooth), anchored at the arrival of its first frame. Each file
starts at 0 with that frame, so it plays on its own; ``first_ms`` (milliseconds since the recording started) places
it beside the others, and pauses (while someone else had the floor) stay in it as gaps.
"""

from __future__ import annotations

import errno
import logging
import queue
import shutil
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import av.container

from conference.relay.frames import EncodedFrame, vp8_size

log = logging.getLogger(__name__)

QUEUE_PACKETS = 3000  # ~20 s of a chair and a floor holder; a disk that far behind has stalled
# The muxer holds a cluster in memory until it is complete: small clusters reach the disk within a second (a crash
# loses at most that) and keep what closing a file still has to write small.
CLUSTER_OPTIONS = {"cluster_time_limit": "1000", "cluster_size_limit": str(128 * 1024)}
# Stop while this much is still free: closing writes each file's last cluster, duration and cues, and after ENOSPC
# ffmpeg's writer refuses every later write (the file still plays, but without a duration).
KEEP_FREE_BYTES = 2 * 1024 * 1024
DISK_CHECK_SECONDS = 0.25
MILLISECOND = Fraction(1, 1000)
RTP_WRAP = 1 << 32
DISK_FULL, WRITE_FAILED = "disk_full", "write_failed"


class TrackFile:
    """One track's WebM file. Opened at the first frame that can start it; written only by the writer thread."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path = path
        self.kind = kind
        self.first_ms: int | None = None
        self.last_ms = 0
        self.packets = 0
        self._container: av.container.OutputContainer | None = None
        self._stream: av.stream.Stream | None = None
        self._anchor: tuple[int, int] | None = None  # (unwrapped RTP time, ms since start) of the first frame
        self._last_rtp = 0
        self._wraps = 0

    @property
    def duration_seconds(self) -> float:
        return 0.0 if self.first_ms is None else (self.last_ms - self.first_ms) / 1000

    def write(self, frame: EncodedFrame, arrived_ms: int) -> None:
        if self._container is None and not self._open(frame):
            return
        assert self._stream is not None and self._container is not None
        at = self._milliseconds(frame, arrived_ms)
        packet = av.Packet(frame.data)
        packet.pts = packet.dts = at - (self.first_ms or 0)
        packet.time_base = MILLISECOND
        packet.stream = self._stream
        packet.is_keyframe = frame.keyframe
        self._container.mux(packet)
        self.packets += 1

    def close(self) -> None:
        if self._container is not None:
            container, self._container = self._container, None
            container.close()  # writes the duration and cues; may fail on a full disk (the clusters stay playable)

    def _open(self, frame: EncodedFrame) -> bool:
        size = vp8_size(frame.data) if self.kind == "video" else (0, 0)
        if size is None:
            return False  # a decoder can only start at a key frame
        self.path.parent.mkdir(parents=True, exist_ok=True)
        container = av.open(str(self.path), "w", format="webm", options=CLUSTER_OPTIONS)
        stream: av.stream.Stream
        if self.kind == "video":
            video = stream = container.add_stream("libvpx", rate=30)
            video.width, video.height = size
            video.pix_fmt = "yuv420p"
        else:  # browsers send Opus at 48 kHz; opening the encoder context writes the OpusHead WebM needs
            audio = stream = container.add_stream("libopus", rate=48000)
            audio.layout = "stereo"
        stream.time_base = MILLISECOND
        self._container, self._stream = container, stream
        return True

    def _milliseconds(self, frame: EncodedFrame, arrived_ms: int) -> int:
        if frame.pts < self._last_rtp and self._last_rtp - frame.pts > RTP_WRAP // 2:
            self._wraps += 1
        self._last_rtp = frame.pts
        rtp = frame.pts + self._wraps * RTP_WRAP
        if self._anchor is None:
            self._anchor = (rtp, arrived_ms)
            self.first_ms = arrived_ms
        anchor_rtp, anchor_ms = self._anchor
        at = anchor_ms + int((rtp - anchor_rtp) * frame.time_base * 1000)
        at = max(at, self.last_ms + 1) if self.packets else at  # WebM wants each track's times to rise
        self.last_ms = at
        return at


_Item = tuple[TrackFile, EncodedFrame, int] | None


class DiskWriter:
    """The thread that writes a recording's files. ``on_failure`` is called once, from that thread."""

    def __init__(self, directory: Path, on_failure: Callable[[str], None], *,
                 keep_free_bytes: int = KEEP_FREE_BYTES) -> None:  # fmt: skip
        self.dropped = 0
        self._directory = directory
        self._keep_free = keep_free_bytes
        self._checked_at = 0.0
        self.failure: str | None = None
        self._files: list[TrackFile] = []
        self._queue: queue.Queue[_Item] = queue.Queue(QUEUE_PACKETS)
        self._on_failure = on_failure
        self._thread = threading.Thread(target=self._run, name=f"recorder-{directory.name}", daemon=True)
        self._thread.start()

    def add(self, track: TrackFile) -> None:
        self._files.append(track)

    def write(self, track: TrackFile, frame: EncodedFrame, arrived_ms: int) -> bool:
        """Queue a frame; False when the queue is full and the frame was dropped."""
        try:
            self._queue.put_nowait((track, frame, arrived_ms))
        except queue.Full:
            self.dropped += 1
            return False
        return True

    def finish(self) -> None:
        """Write what is queued, close every file. Blocks: call it from a worker thread."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self.failure is not None:
                continue  # stopped writing; drain until finish
            track, frame, arrived_ms = item
            try:
                self._check_disk()
                track.write(frame, arrived_ms)
            except (OSError, av.FFmpegError) as error:
                self._fail(DISK_FULL if getattr(error, "errno", None) == errno.ENOSPC else WRITE_FAILED, error)
        for track in self._files:
            try:
                track.close()
            except (OSError, av.FFmpegError) as error:
                log.warning("closing %s: %s (what was written stays playable)", track.path, error)

    def _check_disk(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < DISK_CHECK_SECONDS:
            return
        self._checked_at = now
        self._directory.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self._directory).free
        if free < self._keep_free:
            raise OSError(errno.ENOSPC, f"only {free} bytes left; stopping while the files can still be closed")

    def _fail(self, failure: str, error: Exception) -> None:
        log.error("recording stopped writing: %s (%s)", failure, error)
        self.failure = failure
        self._on_failure(failure)
