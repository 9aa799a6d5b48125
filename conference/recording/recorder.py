"""The recorder: joins a room like a participant who never speaks, and writes what the room forwards it.

The room plans the recorder's slots as it plans a participant's (the chair, and whoever has the floor). For each
publication in that plan the recorder attaches a file straight to the relay, so frames go to disk encoded, as they
arrived. When the floor moves, the old holder's files pause and the new holder's open; the manifest keeps which file
played which part from when to when.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from conference.layout import Source, kind_of
from conference.recording.files import KEEP_FREE_BYTES, DiskWriter, TrackFile
from conference.recording.manifest import CHAIR, FLOOR, PRESENTATION, Manifest, TrackEntry
from conference.relay.frames import EncodedFrame
from conference.relay.relay import Relay

Describe = Callable[[str], tuple[str, str] | None]  # connection → (unit, name) while it is in the room
UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class RecordedTrack:
    file: TrackFile
    unit: str
    name: str
    role: str
    intervals: list[list[int]] = field(default_factory=list)


class _Sink:
    """One attached publication: waits for a key frame after attaching or after a dropped frame."""

    def __init__(self, track: RecordedTrack, writer: DiskWriter, clock: Callable[[], int]) -> None:
        self._track = track
        self._writer = writer
        self._clock = clock
        self._waiting = track.file.kind == "video"

    def push(self, frame: EncodedFrame) -> None:
        if self._waiting and not frame.keyframe:
            return
        self._waiting = False
        if not self._writer.write(self._track.file, frame, self._clock()):
            self._waiting = self._track.file.kind == "video"


class Recorder:
    """A room ``Peer``. ``on_failure`` hears that the disk failed; ``on_closed`` that the room let it go."""

    def __init__(self, relay: Relay, directory: Path, *, meeting_id: str, now: Callable[[], datetime],
                 describe: Describe, on_failure: Callable[[str], None], on_closed: Callable[[Recorder], None],
                 keep_free_bytes: int = KEEP_FREE_BYTES) -> None:  # fmt: skip
        self.directory = directory
        self.meeting_id = meeting_id
        self.started_at = now()
        self.stop_reason = ""
        self.closed = False
        self._relay = relay
        self._describe = describe
        self._on_closed = on_closed
        self._start = time.monotonic()
        self._tracks: dict[Source, RecordedTrack] = {}
        self._attached: dict[Source, _Sink] = {}
        self._file_names: set[str] = set()
        loop = asyncio.get_running_loop()

        def failed(problem: str) -> None:  # on the writer's thread: the room lives on the event loop's
            loop.call_soon_threadsafe(on_failure, problem)

        self._writer = DiskWriter(directory, failed, keep_free_bytes=keep_free_bytes)

    @property
    def dropped_frames(self) -> int:
        return self._writer.dropped

    # --- the room's Peer -------------------------------------------------------------------------------------

    def send(self, message: Mapping[str, Any]) -> None:
        """The recorder follows its plan, not the state messages people's screens draw."""

    def forward(self, slots: Mapping[str, Source | None]) -> None:
        if self.closed:
            return
        now = self._elapsed_ms()
        wanted = {source: _role_of(slot) for slot, source in slots.items() if source is not None}
        for source in [s for s in self._attached if s not in wanted]:
            self._detach(source, now)
        for source, role in wanted.items():
            if source not in self._attached:
                self._attach(source, role, now)

    def close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        self.stop_reason = reason
        now = self._elapsed_ms()
        for source in list(self._attached):
            self._detach(source, now)
        self._on_closed(self)

    # --- the end ---------------------------------------------------------------------------------------------

    async def finish(self, session: str) -> Manifest:
        """Close every file (off the event loop) and say what was written."""
        duration = self._elapsed_ms()
        await asyncio.to_thread(self._writer.finish)
        entries = tuple(self._entry(track) for track in self._tracks.values() if track.file.packets)
        stopped = self._writer.failure or ("" if self.stop_reason in ("stopped", "ended") else self.stop_reason)
        return Manifest(self.meeting_id, session, self.started_at, duration, entries, stopped)

    # --- inside ----------------------------------------------------------------------------------------------

    def _attach(self, source: Source, role: str, now: int) -> None:
        track = self._tracks.get(source)
        if track is None:
            unit, name = self._describe(source.connection) or ("", "")
            track = RecordedTrack(TrackFile(self.directory / self._file_name(unit, role, source.track),
                                            kind_of(source.track)), unit, name, role)  # fmt: skip
            self._tracks[source] = track
            self._writer.add(track.file)
        track.intervals.append([now, now])
        sink = self._attached[source] = _Sink(track, self._writer, self._elapsed_ms)
        self._relay.attach(source, sink, keyframe=track.file.kind == "video")

    def _detach(self, source: Source, now: int) -> None:
        sink = self._attached.pop(source)
        self._relay.detach(source, sink)
        self._tracks[source].intervals[-1][1] = now

    def _file_name(self, unit: str, role: str, track: str) -> str:
        stem = f"{UNSAFE.sub('_', unit) or 'unit'}-{role}-{track}"
        name, number = f"{stem}.webm", 1
        while name in self._file_names:  # the same unit again on a new connection (a reconnect)
            number += 1
            name = f"{stem}-{number}.webm"
        self._file_names.add(name)
        return name

    def _entry(self, track: RecordedTrack) -> TrackEntry:
        size = track.file.path.stat().st_size if track.file.path.exists() else 0
        return TrackEntry(track.file.path.name, track.unit, track.name, track.role, track.file.kind,
                          tuple((a, b) for a, b in track.intervals), round(track.file.duration_seconds, 3), size,
                          track.file.first_ms or 0)  # fmt: skip

    def _elapsed_ms(self) -> int:
        return int((time.monotonic() - self._start) * 1000)


def _role_of(slot: str) -> str:
    if slot == PRESENTATION:
        return PRESENTATION
    return CHAIR if slot.startswith("chair") else FLOOR
