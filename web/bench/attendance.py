"""``giaoban bench attendance``: how long the attendance report takes on a year of weekly briefings.

On its own temporary embedded Valkey (never a deployment's store) it builds ``--units`` commune units,
``--weeks`` weekly meetings inviting all of them, and a realistic stream per meeting (most units join, some
late, some drop and rejoin, some leave early). Then it times every meeting's report, through the store and
through the HTTP API.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from scheduler.attendance.events import AttendanceEvent
from scheduler.attendance.report import attendance_report
from scheduler.directory.units import Unit
from scheduler.meetings.model import Meeting, new_meeting_id
from web.accounts import AccountStore
from web.app import create_app
from web.config import Config
from web.keys import ATTENDANCE, MEETINGS, STORE, UNITS

FIRST_MEETING = datetime(2025, 1, 6, 1, 0, tzinfo=UTC)  # Mondays, 08:00 in Vietnam


@dataclass(frozen=True)
class AttendanceBench:
    weeks: int = 52
    units: int = 200
    seed: int = 2026

    async def run(self) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="giaoban-bench-") as data_dir:
            config = Config(data_dir=Path(data_dir))
            async with TestClient(TestServer(create_app(config))) as client:
                started = time.perf_counter()
                meetings, events = await self._populate(client)
                populate_seconds = time.perf_counter() - started
                store_times = [await self._report_from_store(client, m) for m in meetings]
                await AccountStore(client.app[STORE].redis).add("bench", "secretary", "bench-password", replace=True)
                await client.post("/api/session", json={"username": "bench", "password": "bench-password"})
                http_times = [await self._report_over_http(client, m) for m in meetings]
        return {
            "weeks": self.weeks,
            "units": self.units,
            "events_total": events,
            "populate_seconds": round(populate_seconds, 2),
            "store_report_seconds": _summary(store_times),
            "http_report_seconds": _summary(http_times),
            "year_of_reports_seconds": round(sum(store_times), 3),
        }

    async def _populate(self, client: TestClient[Any, Any]) -> tuple[list[Meeting], int]:
        app, rng = client.app, random.Random(self.seed)
        codes = [f"xa-{i:03d}" for i in range(self.units)]
        units = {
            "tinh": (2, Unit("tinh", "UBND tỉnh", "province")),
            "huyen": (3, Unit("huyen", "Huyện", "district", "tinh")),
        }
        units |= {code: (i + 4, Unit(code, f"Xã số {i}", "commune", "huyen")) for i, code in enumerate(codes)}
        await app[UNITS].import_units(units)
        meetings = [
            Meeting(
                new_meeting_id(),
                f"Giao ban tuần {week + 1}",
                "",
                FIRST_MEETING + timedelta(weeks=week),
                FIRST_MEETING + timedelta(weeks=week, hours=2),
                "tinh",
                tuple(codes),
            )
            for week in range(self.weeks)
        ]
        await app[MEETINGS].add(meetings)
        total = 0
        for meeting in meetings:
            for event in _a_meeting_of_events(meeting, codes, rng):
                await app[ATTENDANCE].append(meeting.id, event)
                total += 1
        return meetings, total

    async def _report_from_store(self, client: TestClient[Any, Any], meeting: Meeting) -> float:
        started = time.perf_counter()
        events = await client.app[ATTENDANCE].events(meeting.id)
        attendance_report(meeting, events, await client.app[UNITS].all(), now=datetime.now(UTC))
        return time.perf_counter() - started

    async def _report_over_http(self, client: TestClient[Any, Any], meeting: Meeting) -> float:
        started = time.perf_counter()
        response = await client.get(f"/api/meetings/{meeting.id}/attendance")
        body = await response.json()
        elapsed = time.perf_counter() - started
        assert response.status == 200 and len(body["units"]) == self.units + 1, response.status
        return elapsed


def _a_meeting_of_events(meeting: Meeting, codes: list[str], rng: random.Random) -> list[AttendanceEvent]:
    events = [AttendanceEvent("joined", meeting.starts_at - timedelta(minutes=10), "tinh", "c0", "Chủ tọa", "")]
    for code in codes:
        if rng.random() < 0.05:
            continue  # absent
        joined = meeting.starts_at + timedelta(minutes=rng.choice([-15, -5, 0, 2, 5, 20]))
        connection = f"{code}-1"
        events.append(AttendanceEvent("joined", joined, code, connection, "Nguyễn Văn A", "Chủ tịch UBND xã"))
        if rng.random() < 0.3:  # a weak line drops once and comes back
            drop = joined + timedelta(minutes=rng.randint(10, 60))
            events += [
                AttendanceEvent("dropped", drop, code, connection),
                AttendanceEvent("rejoined", drop + timedelta(minutes=2), code, connection),
            ]
        events.append(
            AttendanceEvent("roll_call_answered", meeting.starts_at + timedelta(minutes=30), code, connection)
        )
        leave = meeting.ends_at - timedelta(minutes=rng.choice([0, 0, 0, 30]))
        events.append(AttendanceEvent("left", leave, code, connection))
    return events


def _summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "median": round(statistics.median(ordered), 4),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 4),
        "max": round(ordered[-1], 4),
    }


def markdown(result: dict[str, Any], command: str) -> str:
    store, http = result["store_report_seconds"], result["http_report_seconds"]
    return "\n".join(
        [
            "# Attendance report benchmark",
            "",
            f"Command: `{command}`",
            "",
            f"{result['weeks']} weekly meetings × {result['units']} invited units, {result['events_total']} events.",
            "",
            "| path | median | p95 | max |",
            "|---|---|---|---|",
            f"| store + report, one meeting | {store['median']} s | {store['p95']} s | {store['max']} s |",
            f"| HTTP GET /api/meetings/{{id}}/attendance | {http['median']} s | {http['p95']} s | {http['max']} s |",
            "",
            f"All {result['weeks']} reports of the year, one after another: {result['year_of_reports_seconds']} s.",
            "",
        ]
    )
