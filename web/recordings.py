"""Recordings after the meeting: the program composer's worker, retention, and deleting files with their records.

The worker takes one queued program at a time and composes it in a child process at the lowest priority (see
``conference/recording/program.py``), reading its progress into the catalogue so pages can show it. A clean stop
gives the job back; a crash leaves it to run out its lease and be taken again. Retention deletes recordings older
than the configured number of days, once an hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp import web

from scheduler.errors import N_, NotFound
from scheduler.recordings.catalogue import Recording, RecordingCatalogue
from scheduler.recordings.jobs import ProgramJobs
from web.keys import BACKGROUND, CLOCK, CONFIG, PROGRAM_JOBS, RECORDINGS

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
RETENTION_SCAN_SECONDS = 3600.0
MEDIA_SUFFIXES = (".webm", ".mp4")
COMPOSER_FAILED = N_("The video could not be made: the composer stopped with an error (see program.log).")


class ProgramWorker:
    def __init__(self, jobs: ProgramJobs, catalogue: RecordingCatalogue, directory: Path) -> None:
        self._jobs = jobs
        self._catalogue = catalogue
        self._directory = directory
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                job = await self._jobs.claim()
            except Exception:  # the store restarts under us: try again shortly
                log.exception("claiming a program job failed")
                job = None
            if job is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), POLL_SECONDS)
                continue
            await self._compose(job)

    async def _compose(self, recording_id: str) -> None:
        try:
            recording = await self._catalogue.update(recording_id, status="composing", progress=0.0, problem="")
        except NotFound:  # deleted while it waited
            await self._jobs.done(recording_id)
            return
        output = self._directory / recording.file
        partial = output.with_name(f"{output.stem}.{secrets.token_hex(4)}.part")  # an orphan may still write its own
        outcome = await self._run_composer(recording_id, output.parent, partial)
        if outcome is None:  # asked to stop: the job goes back to the queue
            partial.unlink(missing_ok=True)
            await self._jobs.give_back(recording_id)
            return
        try:
            if outcome == "":
                partial.replace(output)
                for stale in output.parent.glob(f"{output.stem}.*.part"):  # earlier attempts, cut off by a crash
                    stale.unlink(missing_ok=True)
                await self._catalogue.update(recording_id, status="ready", progress=1.0,
                                             bytes=output.stat().st_size)  # fmt: skip
            else:
                partial.unlink(missing_ok=True)
                await self._catalogue.update(recording_id, status="failed", problem=outcome)
        except NotFound:
            output.unlink(missing_ok=True)  # deleted while it was composed
        await self._jobs.done(recording_id)

    async def _run_composer(self, recording_id: str, session: Path, partial: Path) -> str | None:
        """'' when the program was written, a problem when it failed, None when we were asked to stop."""
        with (session / "program.log").open("ab") as log_file:
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "conference.recording.program", str(session), str(partial),
                stdout=asyncio.subprocess.PIPE, stderr=log_file,
            )  # fmt: skip
        try:
            stopped = await self._follow(recording_id, child)
        except BaseException:  # the store went away mid-job, say: its lease runs out and the job is taken again, so
            with contextlib.suppress(ProcessLookupError):  # this composer must not go on writing alongside
                child.kill()
            await child.wait()
            raise
        if stopped:
            return None
        code = await child.wait()
        if code != 0:
            log.error("composing %s failed with exit code %s; see %s", recording_id, code, session / "program.log")
            return COMPOSER_FAILED
        return ""

    async def _follow(self, recording_id: str, child: asyncio.subprocess.Process) -> bool:
        """Renew the job's lease and note the composer's progress until it ends; True if we were asked to stop."""
        assert child.stdout is not None
        renew_every = self._jobs.lease_seconds / 3
        while True:
            line_read = asyncio.ensure_future(child.stdout.readline())
            stop = asyncio.ensure_future(self._stop.wait())
            done, _ = await asyncio.wait({line_read, stop}, timeout=renew_every, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if stop in done:
                line_read.cancel()
                child.kill()
                await child.wait()
                return True
            await self._jobs.renew(recording_id)
            if line_read not in done:
                line_read.cancel()
                continue
            line = line_read.result()
            if not line:
                return False
            if line.startswith(b"progress "):
                with contextlib.suppress(NotFound, ValueError):
                    await self._catalogue.update(recording_id, progress=float(line.split()[1]))


async def delete_recording(catalogue: RecordingCatalogue, directory: Path, recording: Recording) -> None:
    """The file, then the record; the session's folder goes when its last media file has gone."""
    path = directory / recording.file
    path.unlink(missing_ok=True)
    await catalogue.remove(recording)
    session = path.parent
    if session.is_dir() and not any(p.suffix in MEDIA_SUFFIXES for p in session.iterdir()):
        for leftover in session.iterdir():
            leftover.unlink()
        session.rmdir()
        with contextlib.suppress(OSError):
            session.parent.rmdir()  # the meeting's folder, if it was the last session


async def delete_expired(catalogue: RecordingCatalogue, directory: Path, before: datetime) -> int:
    expired = await catalogue.started_before(before)
    for recording in expired:
        await delete_recording(catalogue, directory, recording)
    if expired:
        log.info("retention: deleted %d recordings started before %s", len(expired), before.isoformat())
    return len(expired)


async def _retention(app: web.Application, stop: asyncio.Event) -> None:
    config = app[CONFIG]
    while not stop.is_set():
        before = app[CLOCK].now() - timedelta(days=config.recording_retention_days)
        try:
            await delete_expired(app[RECORDINGS], config.recordings_path, before)
        except Exception:
            log.exception("retention scan failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), RETENTION_SCAN_SECONDS)


async def recordings_lifecycle(app: web.Application) -> AsyncIterator[None]:
    """The program worker and the retention scan; both stop (and give their work back) before the store."""
    worker = ProgramWorker(app[PROGRAM_JOBS], app[RECORDINGS], app[CONFIG].recordings_path)
    stop_retention = asyncio.Event()
    background = app[BACKGROUND]
    tasks = [background.start("program-worker", worker.run, stop=worker.stop),
             background.start("recording-retention", lambda: _retention(app, stop_retention),
                              stop=stop_retention.set)]  # fmt: skip
    try:
        yield
    finally:
        await asyncio.gather(*(task.stop() for task in tasks))
