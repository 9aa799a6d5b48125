"""The recordings page of a meeting: the composed program to watch, each track, who held the floor, delete."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from aiohttp import web

from conference.recording.manifest import Manifest
from scheduler.recordings.catalogue import Recording
from web.api.meetings import PLANNERS, READERS
from web.auth import authorise
from web.keys import CONFIG, I18N, MEETINGS, RECORDINGS, UNITS
from web.mail import meeting_time_text
from web.meeting_pages import local, require_role
from web.recordings import delete_recording
from web.responses import render

log = logging.getLogger(__name__)


async def recordings_page(request: web.Request) -> web.StreamResponse:
    await require_role(request, READERS)
    app = request.app
    meeting = await app[MEETINGS].get(request.match_info["id"])
    units = await app[UNITS].all()
    by_session: dict[str, list[Recording]] = defaultdict(list)
    for recording in await app[RECORDINGS].of_meeting(meeting.id):
        by_session[recording.session].append(recording)
    sessions = [_session(app, recordings) for recordings in by_session.values()]
    return render(request, "recordings.html", {
        "meeting": meeting, "sessions": sessions, "local": local, "clock": clock,
        "unit_name": lambda c: units[c].name if c in units else c,
        "when": meeting_time_text(meeting, app[I18N].language_of(request)), "planners": PLANNERS,
    })  # fmt: skip


def clock(moment: str) -> str:
    """A manifest's wall-clock time (ISO, as the recorder's clock wrote it) as people read it: Vietnam time."""
    return local(datetime.fromisoformat(moment), "%H:%M:%S")


def _session(app: web.Application, recordings: list[Recording]) -> dict[str, Any]:
    program = next((r for r in recordings if r.kind == "program"), None)
    tracks = sorted((r for r in recordings if r.kind == "track"), key=lambda r: (r.unit, r.track))
    floor: list[dict[str, str]] = []
    presented: list[dict[str, str]] = []
    directory = app[CONFIG].recordings_path / recordings[0].file
    try:
        manifest = Manifest.load(directory.parent)
        floor, presented = manifest.floor_timeline(), manifest.presentation_timeline()
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("no readable manifest beside %s", directory)
    return {"started_at": recordings[0].started_at, "program": program, "tracks": tracks, "floor": floor,
            "presented": presented}  # fmt: skip


async def delete_recording_submit(request: web.Request) -> web.StreamResponse:
    await authorise(request, PLANNERS)
    catalogue = request.app[RECORDINGS]
    recording = await catalogue.get(request.match_info["recording"])
    await delete_recording(catalogue, request.app[CONFIG].recordings_path, recording)
    raise web.HTTPSeeOther(f"/meetings/{recording.meeting_id}/recordings")


def add_recording_page_routes(app: web.Application) -> None:
    app.router.add_get("/meetings/{id}/recordings", recordings_page)
    app.router.add_post("/recordings/{recording}/delete", delete_recording_submit)
