from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.attendance.report import UnitAttendance
from scheduler.directory.units import Unit
from scheduler.meetings.model import Meeting
from scheduler.reports.savings import TravelCosts, great_circle_km, meeting_savings

START = datetime(2026, 11, 30, 1, tzinfo=UTC)
MEETING = Meeting("m", "Giao ban", "", START, START + timedelta(hours=2), "tinh", ("bh", "vb", "x", "khong"))
UNITS = {
    "tinh": Unit("tinh", "UBND tỉnh Lào Cai", "province", None, 22.4320, 104.0020),
    "bh": Unit("bh", "Huyện Bắc Hà", "district", "tinh", 22.5400, 104.2890),
    "vb": Unit("vb", "Huyện Văn Bàn", "district", "tinh", 22.0750, 104.2350),
    "x": Unit("x", "Xã không tọa độ", "commune", "bh"),
    "khong": Unit("khong", "Xã vắng", "commune", "bh", 22.6, 104.3),
}


def test_great_circle_distance_matches_a_known_value() -> None:
    # Hà Nội (21.0285, 105.8542) to Lào Cai city (22.4856, 103.9707): about 250 km in a straight line.
    assert great_circle_km(21.0285, 105.8542, 22.4856, 103.9707) == pytest.approx(250, abs=5)
    assert great_circle_km(22.4, 104.0, 22.4, 104.0) == 0


def test_only_attending_units_away_from_the_chair_save_a_trip() -> None:
    rows = [UnitAttendance("tinh", "", "chair", status="present"), UnitAttendance("bh", "", "participant", "present"),
            UnitAttendance("vb", "", "participant", "late"), UnitAttendance("x", "", "participant", "present"),
            UnitAttendance("khong", "", "participant", "absent")]  # fmt: skip
    costs = TravelCosts(road_factor=1.4, vnd_per_km=4000, average_kmh=35)
    saved = meeting_savings(MEETING, rows, UNITS, costs)
    one_way = great_circle_km(22.54, 104.289, 22.432, 104.002) + great_circle_km(22.075, 104.235, 22.432, 104.002)
    assert saved.km == pytest.approx(2 * 1.4 * one_way)
    assert abs(saved.vnd - saved.km * 4000) <= saved.trips  # each trip is rounded to the đồng
    assert saved.hours == pytest.approx(saved.km / 35)
    assert (saved.trips, saved.unknown_location) == (2, 1)
