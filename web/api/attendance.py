"""Attendance of a meeting: the report as JSON, exports (CSV, XLSX, PDF) and their detached signatures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web

from scheduler.attendance import report as held
from scheduler.attendance.report import STATUSES, ChatEntry, TimelineEntry, UnitAttendance, attendance_report
from scheduler.directory.units import Unit
from scheduler.meetings.model import Meeting
from scheduler.reports.exports import ExportContext, to_csv, to_pdf, to_xlsx
from scheduler.reports.savings import TravelCosts, meeting_savings
from scheduler.reports.signing import embed, fingerprint
from web.api.meetings import READERS
from web.config import Config
from web.endpoints import Endpoint, Reply
from web.keys import ATTENDANCE, CLOCK, CONFIG, I18N, MEETINGS, SIGNER, UNITS
from web.responses import json_reply

SIGNATURE_HEADER = "Giaoban-Signature"
FORMATS: Mapping[str, tuple[str, Callable[[ExportContext], bytes]]] = {
    "csv": ("text/csv; charset=utf-8", to_csv),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", to_xlsx),
    "pdf": ("application/pdf", to_pdf),
}
ROW_SCHEMA = {
    "type": "object",
    "required": [
        "unit",
        "name",
        "status",
        "first_join",
        "last_leave",
        "connected_seconds",
        "drops",
        "attendees",
        "roll_call",
    ],
    "properties": {
        "unit": {"type": "string"},
        "name": {"type": "string"},
        "role": {"type": "string"},
        "status": {"type": "string", "enum": list(STATUSES)},
        "first_join": {"type": ["string", "null"]},
        "last_leave": {"type": ["string", "null"]},
        "connected_seconds": {"type": "integer"},
        "drops": {"type": "integer"},
        "attendees": {
            "type": "array",
            "items": {"type": "object", "properties": {"name": {"type": "string"}, "position": {"type": "string"}}},
        },
        "roll_call": {"type": "array", "items": {"type": "object", "properties": {"at": {"type": "string"}}}},
        "intervals": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
    },
}
SAVINGS_SCHEMA = {
    "type": "object",
    "required": ["km", "vnd", "hours", "trips"],
    "properties": {
        "km": {"type": "number"}, "vnd": {"type": "integer"}, "hours": {"type": "number"},
        "trips": {"type": "integer"}, "unknown_location": {"type": "integer"},
    },
}  # fmt: skip
REPORT_SCHEMA = {
    "type": "object",
    "required": ["meeting", "units", "savings"],
    "properties": {"meeting": {"type": "object"}, "units": {"type": "array", "items": ROW_SCHEMA},
                   "savings": SAVINGS_SCHEMA},
}  # fmt: skip
KEY_SCHEMA = {
    "type": "object",
    "required": ["algorithm", "public_key_pem", "fingerprint"],
    "properties": {
        "algorithm": {"const": "Ed25519"},
        "public_key_pem": {"type": "string"},
        "fingerprint": {"type": "string"},
    },
}


def row_json(row: UnitAttendance) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "unit": row.unit,
        "name": row.name,
        "role": row.role,
        "status": row.status,
        "first_join": iso(row.first_join),
        "last_leave": iso(row.last_leave),
        "connected_seconds": row.connected_seconds,
        "drops": row.drops,
        "attendees": [{"name": a.name, "position": a.position} for a in row.attendees],
        "roll_call": [{"at": iso(at)} for at in row.roll_call],
        "intervals": [[start.isoformat(), end.isoformat()] for start, end in row.intervals],
    }


async def attendance_rows(app: web.Application, meeting: Meeting, now: datetime,
                          units: Mapping[str, Unit] | None = None) -> list[UnitAttendance]:  # fmt: skip
    """The report of one meeting as it stands at ``now``."""
    units = units if units is not None else await app[UNITS].all()
    return attendance_report(meeting, await app[ATTENDANCE].events(meeting.id), units, now=now)


@dataclass(frozen=True)
class MeetingReport:
    meeting: Meeting
    rows: list[UnitAttendance]
    as_of: datetime  # the moment the report stands for; fixed once the meeting is over
    units: Mapping[str, Unit]
    timeline: tuple[TimelineEntry, ...] = ()
    chat: tuple[ChatEntry, ...] = ()


async def report_of(request: web.Request) -> MeetingReport:
    app = request.app
    meeting = await app[MEETINGS].get(request.match_info["id"])
    events = await app[ATTENDANCE].events(meeting.id)
    now, units = app[CLOCK].now(), await app[UNITS].all()
    rows = attendance_report(meeting, events, units, now=now)
    if meeting.state(now) == "ended":
        as_of = max([meeting.ends_at, *(e.at for e in events)])
    else:
        as_of = now.replace(second=0, microsecond=0)
    timeline = tuple(entry for entry in held.meeting_timeline(events, units) if entry.at <= as_of)
    chat = tuple(entry for entry in held.meeting_chat(events, units) if entry.at <= as_of)
    return MeetingReport(meeting, rows, as_of, units, timeline, chat)


async def get_attendance(request: web.Request, _: None) -> web.StreamResponse:
    report = await report_of(request)
    savings = meeting_savings(report.meeting, report.rows, report.units, travel_costs(request.app[CONFIG]))
    return json_reply({"meeting": report.meeting.public_json(request.app[CLOCK].now()),
                       "units": [row_json(r) for r in report.rows], "savings": savings.rounded()})  # fmt: skip


def travel_costs(config: Config) -> TravelCosts:
    return TravelCosts(config.travel_road_factor, config.travel_vnd_per_km, config.travel_average_kmh)


async def export_bytes(request: web.Request, extension: str) -> tuple[Meeting, bytes]:
    report = await report_of(request)
    i18n = request.app[I18N]
    language = i18n.language_of(request)
    meeting, units = report.meeting, report.units
    chair = units[meeting.chair_unit].name if meeting.chair_unit in units else meeting.chair_unit
    context = ExportContext(meeting, report.rows, chair, report.as_of, lambda message: i18n.gettext(language, message),
                            report.timeline, report.chat)  # fmt: skip
    return meeting, FORMATS[extension][1](context)


def export_name(meeting: Meeting) -> str:
    return f"diem-danh-{meeting.starts_at:%Y%m%d}-{meeting.id}"


def attachment(filename: str) -> str:
    return f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"


Produce = Callable[[web.Request], Awaitable[tuple[str, bytes]]]  # a request → (file name, the file's bytes)


def signed_file_endpoints(path: str, content_type: str, produce: Produce, summary: str, name: str,
                          tag: str) -> tuple[Endpoint, Endpoint]:  # fmt: skip
    """A signed export: ``path`` gives the file (its signature also in a header), ``path.sig`` the signature
    alone, as a file to keep beside it (and to give ``giaoban verify``), not base64 on a page."""

    async def export(request: web.Request, _: None) -> web.StreamResponse:
        filename, data = await produce(request)
        signature = await request.app[SIGNER].sign(data)
        headers = {"Content-Type": content_type, SIGNATURE_HEADER: signature.decode().strip(),
                   "Content-Disposition": attachment(filename)}  # fmt: skip
        return web.Response(body=embed(data, signature), headers=headers)  # the file checks itself, too

    async def signature(request: web.Request, _: None) -> web.StreamResponse:
        filename, data = await produce(request)
        return web.Response(body=await request.app[SIGNER].sign(data), content_type="text/plain",
                            headers={"Content-Disposition": attachment(f"{filename}.sig")})  # fmt: skip

    export.__name__, signature.__name__ = f"export_{name}", f"sign_{name}"
    binary = {200: Reply("The file", {"type": "string", "format": "binary"}, content_type.split(";")[0])}
    base64 = {200: Reply("base64 signature", {"type": "string"}, "text/plain")}
    return (
        Endpoint("GET", path, export, f"{summary} (its signature also in the {SIGNATURE_HEADER} header)",
                 roles=READERS, tags=(tag,), replies=binary),
        Endpoint("GET", f"{path}.sig", signature, f"Detached Ed25519 signature of: {summary} (base64)",
                 roles=READERS, tags=(tag,), replies=base64),
    )  # fmt: skip


def attendance_export(extension: str) -> tuple[Endpoint, Endpoint]:
    async def produce(request: web.Request) -> tuple[str, bytes]:
        meeting, data = await export_bytes(request, extension)
        return f"{export_name(meeting)}.{extension}", data

    path, summary = f"/api/meetings/{{id}}/attendance.{extension}", f"Attendance as {extension.upper()}"
    return signed_file_endpoints(path, FORMATS[extension][0], produce, summary, f"attendance_{extension}",
                                 "attendance")  # fmt: skip


async def signing_key(request: web.Request, _: None) -> web.StreamResponse:
    pem = await request.app[SIGNER].public_key_pem()
    return json_reply({"algorithm": "Ed25519", "public_key_pem": pem, "fingerprint": fingerprint(pem)})


ENDPOINTS = (
    Endpoint(
        "GET",
        "/api/meetings/{id}/attendance",
        get_attendance,
        "Who attended, from when to when",
        roles=READERS,
        replies={200: Reply("One row per invited unit", REPORT_SCHEMA)},
        tags=("attendance",),
    ),
    *(endpoint for extension in FORMATS for endpoint in attendance_export(extension)),
    Endpoint(
        "GET",
        "/api/signing-key",
        signing_key,
        "The public key that verifies exports",
        roles=None,
        replies={200: Reply("Ed25519 public key", KEY_SCHEMA)},
        tags=("attendance",),
    ),
)
