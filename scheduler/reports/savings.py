"""Travel saved by meeting online: for every unit that attended, the round trip to the chair's location. Pure.

Road distance is estimated as the great-circle distance times a road factor (mountain roads wind: 1.4 by
default). Cost per km and average speed default to figures for a provincial car on mountain roads; all three
are settings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from scheduler.attendance.report import UnitAttendance
from scheduler.directory.units import Unit
from scheduler.meetings.model import Meeting

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class TravelCosts:
    road_factor: float = 1.4
    vnd_per_km: int = 4000  # fuel and wear of an official car, per km
    average_kmh: float = 35.0  # mountain roads


@dataclass(frozen=True)
class Savings:
    km: float = 0.0
    vnd: int = 0
    hours: float = 0.0
    trips: int = 0  # units that attended from elsewhere than the chair's location
    unknown_location: int = 0  # attending units without coordinates, not counted

    def __add__(self, other: Savings) -> Savings:
        return Savings(self.km + other.km, self.vnd + other.vnd, self.hours + other.hours, self.trips + other.trips,
                       self.unknown_location + other.unknown_location)  # fmt: skip

    def rounded(self) -> dict[str, float | int]:
        return {"km": round(self.km, 1), "vnd": self.vnd, "hours": round(self.hours, 1), "trips": self.trips,
                "unknown_location": self.unknown_location}  # fmt: skip


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def meeting_savings(meeting: Meeting, rows: Iterable[UnitAttendance], units: Mapping[str, Unit],
                    costs: TravelCosts) -> Savings:  # fmt: skip
    chair = units.get(meeting.chair_unit)
    total = Savings()
    for row in rows:
        if row.status == "absent" or row.unit == meeting.chair_unit:
            continue
        unit = units.get(row.unit)
        if (
            chair is None
            or chair.lat is None
            or chair.lon is None
            or unit is None
            or unit.lat is None
            or unit.lon is None
        ):
            total += Savings(unknown_location=1)
            continue
        km = 2 * great_circle_km(unit.lat, unit.lon, chair.lat, chair.lon) * costs.road_factor
        total += Savings(km=km, vnd=round(km * costs.vnd_per_km), hours=km / costs.average_kmh, trips=1)
    return total


def _position(unit: Unit | None) -> tuple[float, float] | None:
    if unit is None or unit.lat is None or unit.lon is None:
        return None
    return unit.lat, unit.lon
