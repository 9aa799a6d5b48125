"""The attendance report from events, without a store."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from scheduler.attendance.events import AttendanceEvent
from scheduler.attendance.report import attendance_report
from scheduler.directory.units import Unit
from scheduler.meetings.model import Meeting

START = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam
MEETING = Meeting("m1", "Giao ban", "", START, START + timedelta(hours=2), "lc", ("bh", "sp", "nh", "tc"))
UNITS = {c: Unit(c, n, "district") for c, n in
         [("lc", "UBND tỉnh"), ("bh", "Bắc Hà"), ("sp", "Sa Pa"), ("nh", "Na Hối"), ("tc", "Tà Chải")]}  # fmt: skip


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def event(kind: str, unit: str, minutes: float, connection: str = "c1", **extra: str) -> AttendanceEvent:
    return AttendanceEvent(kind, at(minutes), unit, f"{unit}-{connection}", **extra)


EVENTS = [
    event("joined", "lc", -20, name="Nguyễn Văn A", position="Phó Chủ tịch UBND tỉnh"),
    event("joined", "bh", -5, name="Lý Thị B", position="Chánh Văn phòng"),
    # Bắc Hà's second browser overlaps the first: not counted twice.
    event("joined", "bh", 10, "c2", name="Lý Thị B", position="Chánh Văn phòng"),
    event("left", "bh", 60, "c2"),
    event("dropped", "bh", 30),
    event("rejoined", "bh", 32),
    event("joined", "sp", 25, name="Hoàng Văn C", position="Chủ tịch UBND thị xã"),
    event("joined", "nh", 0, name="Vàng Seo D", position="Công chức Văn phòng – Thống kê"),
    event("left", "nh", 70),
    event("roll_call_answered", "nh", 15, detail="rc1"),
]


def rows_at(minutes: float) -> dict[str, object]:
    return {r.unit: r for r in attendance_report(MEETING, EVENTS, UNITS, now=at(minutes))}


def test_one_row_per_invited_unit_chair_first() -> None:
    assert list(rows_at(200)) == ["lc", "bh", "sp", "nh", "tc"]


def test_statuses_after_the_meeting() -> None:
    rows = rows_at(200)
    assert {u: r.status for u, r in rows.items()} == {  # type: ignore[attr-defined]
        "lc": "present", "bh": "present", "sp": "late", "nh": "left_early", "tc": "absent"}  # fmt: skip


def test_overlapping_browsers_merge_and_drops_are_counted() -> None:
    bh = rows_at(200)["bh"]
    # The first browser dropped 08:30–08:32, but the second (08:10–09:00) kept the unit there: one interval.
    assert bh.intervals == [(at(-5), at(120))]  # type: ignore[attr-defined]
    assert bh.connected_seconds == 125 * 60  # the five minutes before the start count  # type: ignore[attr-defined]
    assert bh.drops == 1 and bh.last_leave == at(120)  # type: ignore[attr-defined]
    assert [a.name for a in bh.attendees] == ["Lý Thị B"]  # type: ignore[attr-defined]


def test_times_and_roll_call() -> None:
    nh = rows_at(200)["nh"]
    assert nh.first_join == at(0) and nh.last_leave == at(70)  # type: ignore[attr-defined]
    assert nh.connected_seconds == 70 * 60 and nh.roll_call == [at(15)]  # type: ignore[attr-defined]
    assert nh.attendees[0].position == "Công chức Văn phòng – Thống kê"  # type: ignore[attr-defined]


def test_a_drop_with_no_second_browser_leaves_a_gap() -> None:
    events = [
        event("joined", "sp", 0),
        event("dropped", "sp", 30),
        event("rejoined", "sp", 35),
        event("left", "sp", 120),
    ]
    (row,) = [r for r in attendance_report(MEETING, events, UNITS, now=at(200)) if r.unit == "sp"]
    assert row.intervals == [(at(0), at(30)), (at(35), at(120))]
    assert row.connected_seconds == 115 * 60 and row.drops == 1 and row.status == "present"


def test_during_the_meeting_the_connected_are_not_counted_as_leaving() -> None:
    rows = rows_at(45)
    assert rows["bh"].status == "present" and rows["bh"].last_leave is None  # type: ignore[attr-defined]
    assert rows["sp"].connected_seconds == 20 * 60  # type: ignore[attr-defined]


def held(**times: float) -> Meeting:
    """MEETING as the chair held it: ``opened`` and ``ended`` in minutes from the planned start."""
    return dataclasses.replace(MEETING, live_state="ended" if "ended" in times else "live",
                               held_from=at(times.get("opened", -10)),
                               held_until=at(times["ended"]) if "ended" in times else None)  # fmt: skip


def statuses(meeting: Meeting, events: list[AttendanceEvent], minutes: float = 200) -> dict[str, str]:
    return {r.unit: r.status for r in attendance_report(meeting, events, UNITS, now=at(minutes))}


def test_a_meeting_the_chair_ends_early_is_judged_by_its_real_end() -> None:
    events = [event("joined", "lc", -10), event("joined", "bh", 0), event("joined", "sp", 2),
              event("left", "sp", 40),  # left long before the end
              event("left", "lc", 75), event("left", "bh", 75)]  # ended at 09:15 (planned: 10:00)  # fmt: skip
    rows = {r.unit: r for r in attendance_report(held(ended=75), events, UNITS, now=at(200))}
    assert {u: r.status for u, r in rows.items()} == {"lc": "present", "bh": "present", "sp": "left_early",
                                                        "nh": "absent", "tc": "absent"}  # fmt: skip
    assert rows["bh"].connected_seconds == 75 * 60 and rows["lc"].connected_seconds == 85 * 60


def test_a_meeting_the_chair_ends_early_closes_connections_left_open_at_its_end() -> None:
    events = [event("joined", "lc", -10), event("joined", "bh", 0)]  # nobody's leave was written
    rows = {r.unit: r for r in attendance_report(held(ended=75), events, UNITS, now=at(200))}
    assert rows["bh"].intervals == [(at(0), at(75))] and rows["bh"].status == "present"


def test_a_meeting_opened_late_judges_lateness_from_its_opening() -> None:
    events = [event("joined", "lc", 20), event("joined", "bh", 0), event("joined", "sp", 25),
              event("joined", "nh", 35)]  # fmt: skip
    assert statuses(held(opened=20), events) == {"lc": "present", "bh": "present", "sp": "present", "nh": "late",
                                                  "tc": "absent"}  # fmt: skip


def test_a_chair_opening_early_does_not_make_the_punctual_late() -> None:
    events = [event("joined", "lc", -25), event("joined", "bh", 5)]
    assert statuses(held(opened=-25), events)["bh"] == "present"


def test_time_before_the_planned_start_counts_but_not_before_the_lobby() -> None:
    events = [event("joined", "bh", -60)]  # the lobby opens 30 minutes before: nothing counts before it
    (row,) = [r for r in attendance_report(MEETING, events, UNITS, now=at(200)) if r.unit == "bh"]
    assert row.connected_seconds == (120 + MEETING.lobby_opens_minutes) * 60 and row.status == "present"


def test_reconnects_are_one_stay_and_a_meeting_nobody_ended_closes_at_its_planned_end() -> None:
    events = [event("joined", "bh", 0), event("dropped", "bh", 30), event("rejoined", "bh", 31, "c2"),
              event("dropped", "bh", 90, "c2"), event("rejoined", "bh", 90.5, "c3")]  # fmt: skip
    (row,) = [r for r in attendance_report(MEETING, events, UNITS, now=at(200)) if r.unit == "bh"]
    assert row.intervals == [(at(0), at(30)), (at(31), at(90)), (at(90.5), at(120))]
    assert row.drops == 2 and row.status == "present" and row.last_leave == at(120)
    assert row.connected_seconds == int((120 - 1 - 0.5) * 60)


def test_joining_only_after_the_chair_ended_it_is_absent() -> None:
    events = [event("joined", "lc", 0), event("left", "lc", 60), event("joined", "bh", 65)]
    assert statuses(held(opened=0, ended=60), events)["bh"] == "absent"
