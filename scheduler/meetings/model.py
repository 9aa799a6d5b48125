"""Meetings and their rules. Pure: no I/O; the clock is passed in.

Times are stored as aware datetimes; a time given without an offset means Vietnam time (Asia/Ho_Chi_Minh, which
has no daylight saving). A weekly series is expanded into one meeting per occurrence, each with its own
attendance, linked by ``series_id`` and keeping its place in the weekly rule (``series_slot``), so one occurrence
can be moved or cancelled alone, or it and all that follow (``change_following``, ``cancel_following``).
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from scheduler.directory.units import Unit, normalise_text
from scheduler.errors import N_, Conflict, InvalidInput, Problem

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_TITLE_LENGTH = 200
MAX_AGENDA_LENGTH = 5000
MAX_INVITED_UNITS = 500
MAX_OCCURRENCES = 104  # two years of weekly briefings
MAX_DURATION = timedelta(hours=12)
DEFAULT_LOBBY_MINUTES = 30
PAST_TOLERANCE = timedelta(minutes=5)  # a form filled in slowly may start "now" a little before it arrives
STATES = ("scheduled", "lobby_open", "live", "ended", "cancelled")
UNCHANGEABLE = {"cancelled": N_("The meeting was cancelled; it can no longer be changed"),
                "ended": N_("The meeting has ended; it can no longer be changed")}  # fmt: skip
UNCANCELLABLE = {**UNCHANGEABLE, "live": N_("The meeting is under way; end it instead of cancelling it")}


@dataclass(frozen=True)
class Meeting:
    id: str
    title: str
    agenda: str
    starts_at: datetime
    ends_at: datetime
    chair_unit: str
    invited_units: tuple[str, ...]
    lobby_opens_minutes: int = DEFAULT_LOBBY_MINUTES
    series_id: str | None = None
    series_slot: datetime | None = None  # its place in the weekly rule (its first planned start): RECURRENCE-ID
    sequence: int = 0  # bumped by every change that calendars must show (RFC 5545 SEQUENCE)
    cancelled: bool = False
    live_state: str | None = None  # "live" or "ended", set by the live meeting
    held_from: datetime | None = None  # when the chair opened it (the first time)
    held_until: datetime | None = None  # when the chair ended it
    auto_record: bool = False  # recording starts when the chair joins
    test_session: bool = False  # the host opened a supervised test session (phiên thử) before the room opens
    created_by: str = ""

    @property
    def series_place(self) -> datetime:
        """Its place in its series' weekly rule (RECURRENCE-ID), wherever it was moved; its start when alone."""
        return self.series_slot or self.starts_at

    @property
    def lobby_opens_at(self) -> datetime:
        return self.starts_at - timedelta(minutes=self.lobby_opens_minutes)

    def state(self, now: datetime) -> str:
        if self.cancelled:
            return "cancelled"
        if self.live_state == "ended" or (self.live_state != "live" and now >= self.ends_at):
            return "ended"
        if self.live_state == "live":
            return "live"
        return "lobby_open" if now >= self.lobby_opens_at else "scheduled"

    def rehearsing(self, now: datetime) -> bool:
        """Whether a test session is open: before the room opens, units join to try everything; nothing is recorded
        in attendance, and the meeting is not opened by the chair's arrival."""
        return self.test_session and self.state(now) == "scheduled"

    @property
    def held_start(self) -> datetime:
        """The start lateness is judged by: the planned start, or the chair's opening if that came later."""
        return max(self.starts_at, self.held_from) if self.held_from else self.starts_at

    @property
    def held_end(self) -> datetime:
        """The end leaving early is judged by: when the chair ended it, or the planned end if nobody did."""
        return self.held_until or self.ends_at

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for name in TIMES:
            value = getattr(self, name)
            data[name] = value.isoformat() if value is not None else None
        data["invited_units"] = list(self.invited_units)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Meeting:
        times = {name: datetime.fromisoformat(data[name]) if data.get(name) else None for name in TIMES}
        return cls(**{**data, **times, "invited_units": tuple(data["invited_units"])})

    def public_json(self, now: datetime) -> dict[str, Any]:
        """What the API shows: stored fields in Vietnam time, plus the state at ``now``."""
        data = self.to_json()
        for name in TIMES:
            value = getattr(self, name)
            data[name] = value.astimezone(VIETNAM).isoformat() if value is not None else None
        data["state"] = self.state(now)
        return data


TIMES = ("starts_at", "ends_at", "held_from", "held_until", "series_slot")


def new_meeting_id() -> str:
    return secrets.token_urlsafe(9)


def parse_time(value: str) -> datetime | None:
    """ISO 8601 date-time; without an offset it is Vietnam time. None if it is not one."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        return None
    return parsed.replace(tzinfo=VIETNAM) if parsed.tzinfo is None else parsed


def plan_meetings(
    body: Mapping[str, Any], units: Mapping[str, Unit], *, now: datetime, created_by: str
) -> list[Meeting]:
    """The meetings a create request asks for (several for a weekly series), or ``InvalidInput`` with fields."""
    problems: list[Problem] = []
    fields = _checked_fields(body, units, problems, now=now)
    occurrences = _occurrences(body.get("recurrence"), fields.get("starts_at"), problems)
    if problems:
        raise InvalidInput("The meeting was not saved", problems=problems)
    duration = fields["ends_at"] - fields["starts_at"]
    series_id = new_meeting_id() if len(occurrences) > 1 else None
    return [
        Meeting(id=new_meeting_id(), title=fields["title"], agenda=fields["agenda"], starts_at=start,
                ends_at=start + duration, chair_unit=fields["chair_unit"], invited_units=fields["invited_units"],
                lobby_opens_minutes=fields["lobby_opens_minutes"], auto_record=fields["auto_record"],
                series_id=series_id, series_slot=start if series_id else None, created_by=created_by)
        for start in occurrences
    ]  # fmt: skip


def apply_changes(meeting: Meeting, changes: Mapping[str, Any], units: Mapping[str, Unit], *, now: datetime) -> Meeting:
    """An edited or rescheduled meeting; calendars are told through a higher ``sequence``."""
    state = meeting.state(now)
    if state in UNCHANGEABLE:
        raise Conflict(UNCHANGEABLE[state])
    merged = {**_editable(meeting), **changes}
    problems: list[Problem] = []
    fields = _checked_fields(merged, units, problems, now=now, times_changed=_times_changed(meeting, changes))
    if problems:
        raise InvalidInput("The meeting was not saved", problems=problems)
    updated = dataclasses.replace(meeting, **fields)
    return dataclasses.replace(updated, sequence=meeting.sequence + 1) if updated != meeting else meeting


def cancel(meeting: Meeting, *, now: datetime) -> Meeting:
    state = meeting.state(now)
    if state in UNCANCELLABLE:
        raise Conflict(UNCANCELLABLE[state])
    return dataclasses.replace(meeting, cancelled=True, sequence=meeting.sequence + 1)


def change_following(occurrences: list[Meeting], first: Meeting, changes: Mapping[str, Any],
                     units: Mapping[str, Unit], *, now: datetime) -> list[Meeting]:  # fmt: skip
    """ "This and all following": ``first`` changed as asked, and every later occurrence still to come the same way;
    a new time moves each of them by the same shift (and gives each the new length). Returns the changed ones."""
    changed = [apply_changes(first, changes, units, now=now)]
    shift = changed[0].starts_at - first.starts_at
    length = changed[0].ends_at - changed[0].starts_at
    for meeting in occurrences:
        if meeting.starts_at <= first.starts_at or meeting.state(now) in UNCHANGEABLE:  # itself, or before it
            continue
        own = dict(changes)
        if "starts_at" in changes or "ends_at" in changes:
            start = meeting.starts_at + shift
            own["starts_at"], own["ends_at"] = start.isoformat(), (start + length).isoformat()
        changed.append(apply_changes(meeting, own, units, now=now))
    return changed


def cancel_following(occurrences: list[Meeting], first: Meeting, *, now: datetime) -> list[Meeting]:
    """ "This and all following" cancelled: ``first`` (which must be cancellable) and every later one to come."""
    later = [m for m in occurrences if m.starts_at > first.starts_at and m.state(now) not in UNCANCELLABLE]
    return [cancel(first, now=now), *(cancel(m, now=now) for m in later)]


# --- checks --------------------------------------------------------------------------------------------------------


EDITABLE = (
    "title",
    "agenda",
    "starts_at",
    "ends_at",
    "chair_unit",
    "invited_units",
    "lobby_opens_minutes",
    "auto_record",
)


def _editable(meeting: Meeting) -> dict[str, Any]:
    data = meeting.to_json()
    return {name: data[name] for name in EDITABLE}


def _times_changed(meeting: Meeting, changes: Mapping[str, Any]) -> bool:
    return any(
        key in changes and parse_time(str(changes[key])) != getattr(meeting, key) for key in ("starts_at", "ends_at")
    )


def _checked_fields(
    body: Mapping[str, Any], units: Mapping[str, Unit], problems: list[Problem], *, now: datetime,
    times_changed: bool = True,
) -> dict[str, Any]:  # fmt: skip
    def field_problem(where: str, message: str, **params: Any) -> None:
        problems.append(Problem(where, message, params))

    title = normalise_text(str(body.get("title", "")))
    if not title:
        field_problem("title", "The title is empty")
    elif len(title) > MAX_TITLE_LENGTH:
        field_problem("title", "At most {limit} characters", limit=MAX_TITLE_LENGTH)
    agenda = normalise_text(str(body.get("agenda") or ""))
    if len(agenda) > MAX_AGENDA_LENGTH:
        field_problem("agenda", "At most {limit} characters", limit=MAX_AGENDA_LENGTH)
    starts_at, ends_at = parse_time(str(body.get("starts_at", ""))), parse_time(str(body.get("ends_at", "")))
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value is None:
            field_problem(name, "Not a date and time such as 2026-12-01T08:00")
    if starts_at and ends_at:
        if ends_at <= starts_at:
            field_problem("ends_at", "The meeting must end after it starts")
        elif ends_at - starts_at > MAX_DURATION:
            field_problem("ends_at", "A meeting lasts at most {hours} hours", hours=MAX_DURATION.seconds // 3600)
        if times_changed and starts_at < now - PAST_TOLERANCE:
            field_problem("starts_at", "This time has already passed")
    chair_unit = str(body.get("chair_unit", ""))
    if chair_unit not in units:
        field_problem("chair_unit", "Unknown unit {code}", code=chair_unit)
    invited = [str(code) for code in body.get("invited_units", [])]
    _check_invitees(invited, chair_unit, units, field_problem)
    return {"title": title, "agenda": agenda, "starts_at": starts_at, "ends_at": ends_at, "chair_unit": chair_unit,
            "invited_units": tuple(invited),
            "lobby_opens_minutes": int(body.get("lobby_opens_minutes", DEFAULT_LOBBY_MINUTES)),
            "auto_record": bool(body.get("auto_record", False))}  # fmt: skip


def _check_invitees(invited: list[str], chair_unit: str, units: Mapping[str, Unit], field_problem: Any) -> None:
    if not invited:
        field_problem("invited_units", "Invite at least one unit")
    if len(invited) > MAX_INVITED_UNITS:
        field_problem("invited_units", "At most {limit} units", limit=MAX_INVITED_UNITS)
    seen: set[str] = set()
    for index, code in enumerate(invited):
        where = f"invited_units/{index}"
        if code not in units:
            field_problem(where, "Unknown unit {code}", code=code)
        elif code in seen:
            field_problem(where, "Unit {code} is invited twice", code=code)
        elif code == chair_unit:
            field_problem(where, "Unit {code} already chairs the meeting", code=code)
        seen.add(code)


def _occurrences(recurrence: Any, first: datetime | None, problems: list[Problem]) -> list[datetime]:
    """Start times of a weekly series (wall-clock time kept in Vietnam time), or the single start."""
    if first is None:
        return []
    if not recurrence:
        return [first]
    count, until = recurrence.get("count"), recurrence.get("until")
    if (count is None) == (until is None):
        problems.append(Problem("recurrence", "Give either count or until"))
        return []
    local_first = first.astimezone(VIETNAM)
    if until is not None:
        try:
            last_day = date.fromisoformat(str(until))
        except ValueError:
            problems.append(Problem("recurrence/until", "Not a date such as 2027-06-30"))
            return []
        count = (last_day - local_first.date()).days // 7 + 1
        if count < 1:
            problems.append(Problem("recurrence/until", "The series would end before it starts"))
            return []
    if not 1 <= int(count) <= MAX_OCCURRENCES:
        problems.append(Problem("recurrence", "From 1 to {limit} occurrences", {"limit": MAX_OCCURRENCES}))
        return []
    return [local_first + timedelta(weeks=week) for week in range(int(count))]
