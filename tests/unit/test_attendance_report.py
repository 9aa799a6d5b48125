"""The attendance report from events, without a store."""

from __future__ import annotations

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
    assert bh.connected_seconds == 120 * 60  # counted from the start, not from the lobby  # type: ignore[attr-defined]
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
