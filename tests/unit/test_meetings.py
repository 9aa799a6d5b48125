"""Meeting rules without a store: validation, weekly series, state over time, edits and cancellation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.directory.units import Unit
from scheduler.errors import Conflict, InvalidInput
from scheduler.meetings.model import VIETNAM, apply_changes, cancel, parse_time, plan_meetings

UNITS = {
    "lc": Unit("lc", "UBND tỉnh Lào Cai", "province"),
    "bh": Unit("bh", "Huyện Bắc Hà", "district", "lc"),
    "sp": Unit("sp", "Thị xã Sa Pa", "district", "lc"),
}
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # Monday 08:00 in Vietnam
BODY = {
    "title": "Giao ban tuần",
    "starts_at": "2026-11-30T08:00",
    "ends_at": "2026-11-30T10:00",
    "chair_unit": "lc",
    "invited_units": ["bh", "sp"],
}


def problems(body: dict) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        plan_meetings(body, UNITS, now=NOW, created_by="host")
    return {str(p.where): p.message.format(**p.params) for p in caught.value.problems}


def test_a_time_without_offset_is_vietnam_time() -> None:
    assert parse_time("2026-11-30T08:00") == datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    assert parse_time("2026-11-30T08:00+00:00") == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert parse_time("thứ hai") is None


def test_a_single_meeting() -> None:
    (meeting,) = plan_meetings(BODY, UNITS, now=NOW, created_by="host")
    assert meeting.title == "Giao ban tuần" and meeting.invited_units == ("bh", "sp") and meeting.series_id is None
    assert meeting.starts_at.astimezone(VIETNAM).hour == 8


def test_a_weekly_series_by_count_and_by_until() -> None:
    weekly = {**BODY, "recurrence": {"frequency": "weekly", "count": 4}}
    by_count = plan_meetings(weekly, UNITS, now=NOW, created_by="h")
    assert [m.starts_at.astimezone(VIETNAM).day for m in by_count] == [30, 7, 14, 21]
    assert len({m.series_id for m in by_count}) == 1 and by_count[0].series_id is not None
    assert len({m.id for m in by_count}) == 4
    assert all(m.ends_at - m.starts_at == timedelta(hours=2) for m in by_count)
    by_until = plan_meetings({**BODY, "recurrence": {"frequency": "weekly", "until": "2026-12-21"}}, UNITS, now=NOW,
                             created_by="h")  # fmt: skip
    assert [m.starts_at for m in by_until] == [m.starts_at for m in by_count]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"title": "  "}, "title", "The title is empty"),
        ({"ends_at": "2026-11-30T07:00"}, "ends_at", "The meeting must end after it starts"),
        ({"ends_at": "2026-12-01T07:00"}, "ends_at", "A meeting lasts at most 12 hours"),
        ({"starts_at": "hôm nay"}, "starts_at", "Not a date and time such as 2026-12-01T08:00"),
        ({"starts_at": "2026-11-20T08:00"}, "starts_at", "This time has already passed"),
        ({"chair_unit": "xx"}, "chair_unit", "Unknown unit xx"),
        ({"invited_units": ["bh", "bh"]}, "invited_units/1", "Unit bh is invited twice"),
        ({"invited_units": ["bh", "nowhere"]}, "invited_units/1", "Unknown unit nowhere"),
        ({"invited_units": ["lc"]}, "invited_units/0", "Unit lc already chairs the meeting"),
        ({"invited_units": []}, "invited_units", "Invite at least one unit"),
        ({"recurrence": {"frequency": "weekly"}}, "recurrence", "Give either count or until"),
        ({"recurrence": {"frequency": "weekly", "count": 500}}, "recurrence", "From 1 to 104 occurrences"),
        ({"recurrence": {"frequency": "weekly", "until": "2026-11-01"}}, "recurrence/until",
         "The series would end before it starts"),
    ],
)  # fmt: skip
def test_each_rule_names_its_field(change: dict, field: str, message: str) -> None:
    assert problems({**BODY, **change}).get(field) == message


def test_state_follows_the_clock_and_the_live_side() -> None:
    (meeting,) = plan_meetings(BODY, UNITS, now=NOW, created_by="host")
    assert meeting.state(meeting.starts_at - timedelta(hours=1)) == "scheduled"
    assert meeting.state(meeting.starts_at - timedelta(minutes=29)) == "lobby_open"
    assert meeting.state(meeting.ends_at + timedelta(seconds=1)) == "ended"
    live = meeting.__class__(**{**meeting.__dict__, "live_state": "live"})
    assert live.state(meeting.ends_at + timedelta(minutes=5)) == "live"  # overrunning, still live


def test_a_reschedule_bumps_the_calendar_sequence_and_a_no_op_does_not() -> None:
    (meeting,) = plan_meetings(BODY, UNITS, now=NOW, created_by="host")
    moved = apply_changes(meeting, {"starts_at": "2026-11-30T09:00", "ends_at": "2026-11-30T11:00"}, UNITS, now=NOW)
    assert moved.sequence == 1 and moved.starts_at.astimezone(VIETNAM).hour == 9
    assert apply_changes(moved, {"title": "Giao ban tuần"}, UNITS, now=NOW) is moved


def test_a_running_meeting_can_still_get_a_new_title_but_not_a_past_start() -> None:
    (meeting,) = plan_meetings(BODY, UNITS, now=NOW, created_by="host")
    later = meeting.starts_at + timedelta(minutes=30)
    renamed = apply_changes(meeting, {"title": "Giao ban tuần 48"}, UNITS, now=later)
    assert renamed.title == "Giao ban tuần 48"
    with pytest.raises(InvalidInput):
        apply_changes(meeting, {"starts_at": "2026-11-30T08:10"}, UNITS, now=later)


def test_cancel_once_and_never_after_the_end() -> None:
    (meeting,) = plan_meetings(BODY, UNITS, now=NOW, created_by="host")
    cancelled = cancel(meeting, now=NOW)
    assert cancelled.cancelled and cancelled.sequence == 1 and cancelled.state(NOW) == "cancelled"
    with pytest.raises(Conflict):
        cancel(cancelled, now=NOW)
    with pytest.raises(Conflict):
        cancel(meeting, now=meeting.ends_at + timedelta(hours=1))
    with pytest.raises(Conflict):
        apply_changes(cancelled, {"title": "x"}, UNITS, now=NOW)
