"""The attendance report: who attended, from when to when, late, left early, absent, drops. Pure.

The meeting as held is what counts (docs/attendance.md): late is judged by the later of the planned start and the
chair's opening, left early by the chair's ending (or the planned end, if nobody ended it), and connected time
from the lobby's opening to that end, so time spent waiting before the start counts. A unit may join from several
browsers; its connections' time is merged, so overlap is not counted twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scheduler.attendance.events import ENDS, STARTS, AttendanceEvent
from scheduler.directory.units import Unit
from scheduler.meetings.model import Meeting

DEFAULT_GRACE = timedelta(minutes=10)
STATUSES = ("present", "late", "left_early", "absent")


@dataclass(frozen=True)
class Attendee:
    name: str
    position: str


@dataclass
class UnitAttendance:
    unit: str
    name: str
    role: str
    status: str = "absent"
    first_join: datetime | None = None
    last_leave: datetime | None = None  # None while still connected, or if never joined
    connected_seconds: int = 0
    drops: int = 0
    attendees: list[Attendee] = field(default_factory=list)
    roll_call: list[datetime] = field(default_factory=list)
    intervals: list[tuple[datetime, datetime]] = field(default_factory=list)  # merged, for the timeline


TIMELINE_EVENTS = ("floor_granted", "floor_released", "presentation_started", "presentation_stopped",
                   "recording_started", "recording_stopped")  # fmt: skip


@dataclass(frozen=True)
class TimelineEntry:
    """One moment of the meeting as held: who was given the floor, who presented, when the recording ran."""

    at: datetime
    unit: str
    unit_name: str
    name: str  # the person, as typed on the join page (when the event carries it)
    type: str  # one of TIMELINE_EVENTS


def meeting_timeline(events: Iterable[AttendanceEvent], units: Mapping[str, Unit]) -> list[TimelineEntry]:
    """The floor, the presentations and the recording, in the order they happened."""
    return [TimelineEntry(e.at, e.unit, units[e.unit].name if e.unit in units else e.unit, e.name, e.type)
            for e in sorted(events, key=lambda e: e.at) if e.type in TIMELINE_EVENTS]  # fmt: skip


@dataclass(frozen=True)
class ChatEntry:
    """One chat message as it was written: who wrote it, to whom, what."""

    at: datetime
    unit: str
    unit_name: str
    name: str  # the person, as typed on the join page
    to: str  # "chair", "everyone" or a unit's code
    to_name: str  # the recipient unit's name ("" for the chair or everyone)
    text: str


def meeting_chat(events: Iterable[AttendanceEvent], units: Mapping[str, Unit]) -> list[ChatEntry]:
    """Every chat message, in the order written."""

    def name(code: str) -> str:
        return units[code].name if code in units else code

    return [ChatEntry(e.at, e.unit, name(e.unit), e.name, e.to, "" if e.to in ("chair", "everyone") else name(e.to),
                      e.detail) for e in sorted(events, key=lambda e: e.at) if e.type == "chat_message"]  # fmt: skip


def attendance_report(meeting: Meeting, events: Iterable[AttendanceEvent], units: Mapping[str, Unit], *,
                      now: datetime, grace: timedelta = DEFAULT_GRACE) -> list[UnitAttendance]:  # fmt: skip
    """One row per invited unit, the chair's unit first, in the order of the invitation."""
    codes = [meeting.chair_unit, *meeting.invited_units]
    rows = {
        code: UnitAttendance(code, units[code].name if code in units else code,
                             "chair" if code == meeting.chair_unit else "participant")
        for code in codes
    }  # fmt: skip
    open_since: dict[tuple[str, str], datetime] = {}
    spans: dict[str, list[tuple[datetime, datetime]]] = {code: [] for code in codes}
    for event in sorted(events, key=lambda e: e.at):
        row = rows.get(event.unit)
        if row is None:
            continue  # a unit no longer invited: its events stay in the log, not in the report
        key = (event.unit, event.connection)
        if event.type in STARTS:
            open_since.setdefault(key, event.at)
            row.first_join = min(row.first_join or event.at, event.at)
            attendee = Attendee(event.name, event.position)
            if event.name and attendee not in row.attendees:
                row.attendees.append(attendee)
        elif event.type in ENDS and key in open_since:
            spans[event.unit].append((open_since.pop(key), event.at))
            row.drops += event.type == "dropped"
        elif event.type == "roll_call_answered":
            row.roll_call.append(event.at)
    over = meeting.state(now) == "ended"
    closing = meeting.held_end if over else min(now, meeting.held_end)
    # Once the meeting is over, a connection nobody closed ended with it.
    still_connected = set() if over else {unit for unit, _ in open_since}
    for (unit, _), since in open_since.items():
        spans[unit].append((since, max(since, closing)))
    for code, row in rows.items():
        row.intervals = _merge(spans[code])
        row.connected_seconds = int(sum((_clip(span, meeting) for span in row.intervals), timedelta()).total_seconds())
        if row.intervals and code not in still_connected:
            row.last_leave = row.intervals[-1][1]
        row.status = _status(row, meeting, grace, connected_now=code in still_connected)
    return list(rows.values())


def _merge(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _clip(span: tuple[datetime, datetime], meeting: Meeting) -> timedelta:
    start, end = max(span[0], meeting.lobby_opens_at), min(span[1], meeting.held_end)
    return max(end - start, timedelta())


def _status(row: UnitAttendance, meeting: Meeting, grace: timedelta, *, connected_now: bool) -> str:
    if row.first_join is None or row.first_join >= meeting.held_end:
        return "absent"
    if row.first_join > meeting.held_start + grace:
        return "late"
    if not connected_now and row.last_leave is not None and row.last_leave < meeting.held_end - grace:
        return "left_early"
    return "present"
