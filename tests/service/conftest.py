"""Fixtures shared by the service tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.attendance.events import AttendanceEvent
from scheduler.directory.demo import demo_units
from tests.conftest import Client, signed_in
from web.keys import ATTENDANCE, CLOCK, UNITS

PLANNED_AT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
START = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # 08:00 Vietnam time
INVITED = ["bac-ha", "bac-ha.na-hoi", "bac-ha.ta-chai", "van-ban.cum-nam-chay", "sa-pa"]


@pytest.fixture
async def held_meeting(client: Client) -> dict:
    """A meeting of the demo province, held a week on, with a realistic attendance log; the clock is after it."""
    await client.app[UNITS].import_units(demo_units())
    client.app[CLOCK].set(PLANNED_AT)
    token = await signed_in(client, "host")
    body = {"title": "Giao ban trực tuyến tháng 11 – Ứng phó rét đậm", "starts_at": "2026-11-30T08:00",
            "ends_at": "2026-11-30T10:00", "chair_unit": "laocai", "invited_units": INVITED}  # fmt: skip
    created = await (await client.post("/api/meetings", json=body, headers={"X-CSRF-Token": token})).json()
    log = client.app[ATTENDANCE]

    def at(minutes: int) -> datetime:
        return START + timedelta(minutes=minutes)

    for event in [
        AttendanceEvent("joined", at(-15), "laocai", "a", "Nguyễn Văn Hải", "Phó Chủ tịch UBND tỉnh"),
        AttendanceEvent("joined", at(-3), "bac-ha", "b", "Lý Thị Hoa", "Chánh Văn phòng HĐND-UBND huyện"),
        AttendanceEvent("joined", at(2), "bac-ha.na-hoi", "c", "Vàng Seo Phủ", "Chủ tịch UBND xã"),
        AttendanceEvent("dropped", at(40), "bac-ha.na-hoi", "c"),
        AttendanceEvent("rejoined", at(43), "bac-ha.na-hoi", "c", "Vàng Seo Phủ", "Chủ tịch UBND xã"),
        AttendanceEvent("roll_call_answered", at(30), "bac-ha.na-hoi", "c", detail="rc1"),
        AttendanceEvent("joined", at(25), "van-ban.cum-nam-chay", "d", "Hoàng Thị Lan", "Công chức Văn phòng"),
        AttendanceEvent("joined", at(0), "sa-pa", "e", "Đặng Quốc Việt", "Phó Chủ tịch UBND thị xã"),
        AttendanceEvent("left", at(60), "sa-pa", "e"),
    ]:
        await log.append(created["id"], event)
    client.app[CLOCK].set(START + timedelta(hours=3))  # the meeting is over
    await signed_in(client, "secretary")
    return created
