"""Recordings of a meeting: the catalogue, the files (with HTTP Range, so players can seek), deleting by hand."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from aiohttp import web

from scheduler.errors import NotFound
from scheduler.recordings.catalogue import KINDS, STATUSES, Recording
from web.api.meetings import PLANNERS, READERS
from web.config import Config
from web.endpoints import Endpoint, Reply
from web.keys import CONFIG, MEETINGS, RECORDINGS
from web.recordings import delete_recording
from web.responses import json_reply

CONTENT_TYPES = {".webm": "video/webm", ".mp4": "video/mp4"}
RECORDING_SCHEMA = {
    "type": "object",
    "required": ["id", "kind", "unit", "started_at", "duration_seconds", "bytes", "status"],
    "properties": {
        "id": {"type": "string"},
        "kind": {"type": "string", "enum": list(KINDS)},
        "unit": {"type": "string"},
        "track": {"type": "string"},
        "started_at": {"type": "string"},
        "duration_seconds": {"type": "number"},
        "bytes": {"type": "integer"},
        "status": {"type": "string", "enum": list(STATUSES)},
        "progress": {"type": "number"},
        "problem": {"type": "string"},
        "url": {"type": "string"},
    },
}
RECORDINGS_SCHEMA = {"type": "object", "required": ["recordings"],
                     "properties": {"recordings": {"type": "array", "items": RECORDING_SCHEMA}}}  # fmt: skip


def recording_json(recording: Recording) -> dict[str, Any]:
    return {**recording.public_json(), "url": f"/api/recordings/{recording.id}/file"}


async def list_recordings(request: web.Request, _: None) -> web.StreamResponse:
    meeting = await request.app[MEETINGS].get(request.match_info["id"])
    recordings = await request.app[RECORDINGS].of_meeting(meeting.id)
    return json_reply({"recordings": [recording_json(r) for r in recordings]})


def file_response(config: Config, recording: Recording) -> web.FileResponse:
    path = (config.recordings_path / recording.file).resolve()
    if recording.status != "ready" or not path.is_file() or not path.is_relative_to(config.recordings_path.resolve()):
        raise NotFound("This recording is not ready yet")
    return web.FileResponse(path, headers={"Content-Type": CONTENT_TYPES.get(path.suffix, "application/octet-stream")})


async def recording_file(request: web.Request, _: None) -> web.StreamResponse:
    """aiohttp's file response answers Range requests with 206 and the asked bytes, and sends from the kernel."""
    recording = await request.app[RECORDINGS].get(request.match_info["recording"])
    response = file_response(request.app[CONFIG], recording)
    if request.query.get("download"):
        suffix = PurePosixPath(recording.file).suffix
        name = f"{recording.started_at:%Y%m%d-%H%M}-{recording.unit}-{recording.track}{suffix}"
        response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


async def remove_recording(request: web.Request, _: None) -> web.StreamResponse:
    catalogue = request.app[RECORDINGS]
    recording = await catalogue.get(request.match_info["recording"])
    await delete_recording(catalogue, request.app[CONFIG].recordings_path, recording)
    return web.Response(status=204)


ENDPOINTS = (
    Endpoint("GET", "/api/meetings/{id}/recordings", list_recordings, "The recordings of a meeting", roles=READERS,
             replies={200: Reply("Track files and the composed program", RECORDINGS_SCHEMA)},
             tags=("recordings",)),
    Endpoint("GET", "/api/recordings/{recording}/file", recording_file,
             "A recording's file; supports Range (206) so players can seek; ?download=1 to save it", roles=READERS,
             replies={200: Reply("The file", {"type": "string", "format": "binary"}, "video/webm"),
                      206: Reply("The requested bytes", {"type": "string", "format": "binary"}, "video/webm")},
             query={"download": {"type": "string"}}, tags=("recordings",)),
    Endpoint("DELETE", "/api/recordings/{recording}", remove_recording, "Delete a recording and its file",
             roles=PLANNERS, replies={204: Reply("Deleted")}, tags=("recordings",)),
)  # fmt: skip
