"""Starting and stopping each room's recorder, and filing what it wrote.

The chair's record button (or a meeting set to record by itself) starts a recorder in the room; stopping it, ending
the meeting, a full disk or a service shutdown stops it. Then its files go into the catalogue and a program job is
queued. A watchdog stops recordings before the disk is full (other data shares it), and the writer stops cleanly
if it fills anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from conference.recording.files import DISK_FULL
from conference.recording.manifest import Manifest
from conference.recording.recorder import Recorder
from conference.relay.relay import Relay
from conference.room import Room
from scheduler.background import Background
from scheduler.clock import Clock
from scheduler.errors import N_, Conflict
from scheduler.recordings.catalogue import Recording, RecordingCatalogue, new_recording_id
from scheduler.recordings.jobs import ProgramJobs

log = logging.getLogger(__name__)

WATCH_SECONDS = 5.0
MEGABYTE = 1024 * 1024
NO_ROOM_FOR_PROGRAM = N_("The disk was full: the video could not be made. The tracks are kept.")


@dataclass(frozen=True)
class RecordingSettings:
    directory: Path
    min_free_mb: int  # refuse to start below this; stop a running recording below half of it


class Recordings:
    def __init__(self, relay: Relay, settings: RecordingSettings, *, catalogue: RecordingCatalogue,
                 jobs: ProgramJobs, clock: Clock, background: Background) -> None:  # fmt: skip
        self.settings = settings
        self.catalogue = catalogue
        self._relay = relay
        self._jobs = jobs
        self._clock = clock
        self._active: dict[str, tuple[Room, Recorder]] = {}  # by meeting id
        self._filing: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self._watchdog = background.start("recording-disk-watch", self._watch_disk, stop=self._stop.set)

    def start(self, room: Room, by: str) -> None:
        """The chair asked to record (or the meeting records by itself when the chair arrives)."""
        if room.recording:
            return
        free_mb = self.free_mb()
        if free_mb < self.settings.min_free_mb:
            raise Conflict("Not enough free disk space to record: {free} MB free, {needed} MB needed",
                           free=free_mb, needed=self.settings.min_free_mb)  # fmt: skip
        meeting_id = room.facts.meeting_id
        directory = self.settings.directory / meeting_id / f"{time.strftime('%Y%m%d-%H%M%S')}-{new_recording_id()[:8]}"
        recorder = Recorder(self._relay, directory, meeting_id=meeting_id, now=self._clock.now, describe=room.describe,
                            on_failure=lambda problem: room.stop_recording(None, problem),
                            on_closed=self._file)  # fmt: skip
        try:
            room.start_recording(by, recorder)
        except Exception:
            recorder.close("refused")
            raise
        self._active[meeting_id] = (room, recorder)

    def stop(self, room: Room, by: str) -> None:
        room.stop_recording(by)

    def free_mb(self) -> int:
        directory = self.settings.directory
        directory.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(directory).free // MEGABYTE

    async def close(self) -> None:
        """Stop every recording (its files stay playable and are filed), then wait for the filing."""
        for room, _ in list(self._active.values()):
            room.stop_recording(None, "shutdown")
        await self._watchdog.stop()
        if self._filing:
            await asyncio.gather(*self._filing, return_exceptions=True)

    # --- inside ----------------------------------------------------------------------------------------------

    def _file(self, recorder: Recorder) -> None:
        """The room let the recorder go: close its files and file them, in a task we own."""
        active = self._active.get(recorder.meeting_id)
        if active is not None and active[1] is recorder:
            del self._active[recorder.meeting_id]
        task = asyncio.create_task(self._file_recording(recorder), name=f"file-recording-{recorder.meeting_id}")
        self._filing.add(task)
        task.add_done_callback(self._filing.discard)

    async def _file_recording(self, recorder: Recorder) -> None:
        session = recorder.directory.name
        manifest = await recorder.finish(session)
        if not manifest.tracks:
            log.info("recording %s of %s wrote nothing", session, recorder.meeting_id)
            return
        try:
            manifest.save(recorder.directory)
            composable = True
        except OSError:  # a full disk: the tracks are kept and listed, but no program can be made from them
            log.exception("recording %s of %s: the manifest could not be written", session, recorder.meeting_id)
            composable = False
        try:
            await self._catalogue(manifest, recorder.directory, composable)
        except Exception:  # the files stay on disk; say loudly that the catalogue misses them
            log.exception("recording %s of %s could not be filed (files kept in %s)", session,
                          recorder.meeting_id, recorder.directory)  # fmt: skip

    async def _catalogue(self, manifest: Manifest, directory: Path, composable: bool) -> None:
        relative = directory.relative_to(self.settings.directory)
        tracks = [Recording(new_recording_id(), manifest.meeting_id, manifest.session, "track", t.unit, t.kind,
                            manifest.started_at, t.duration_seconds, t.bytes, "ready", str(relative / t.file))
                  for t in manifest.tracks]  # fmt: skip
        chair_unit = next((t.unit for t in manifest.tracks if t.role == "chair"), "")
        program = Recording(new_recording_id(), manifest.meeting_id, manifest.session, "program", chair_unit,
                            "program", manifest.started_at, manifest.duration_ms / 1000, 0,
                            "queued" if composable else "failed", str(relative / "program.mp4"),
                            problem="" if composable else NO_ROOM_FOR_PROGRAM)  # fmt: skip
        await self.catalogue.add(*tracks, program)
        if composable:
            await self._jobs.enqueue(program.id)
        log.info("recording %s of %s: %d tracks filed, program queued", manifest.session, manifest.meeting_id,
                 len(tracks))  # fmt: skip

    async def _watch_disk(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), WATCH_SECONDS)
            if self._active and self.free_mb() < self.settings.min_free_mb // 2:
                for room, _ in list(self._active.values()):
                    log.error("disk nearly full: stopping the recording of %s", room.facts.meeting_id)
                    room.stop_recording(None, DISK_FULL)
