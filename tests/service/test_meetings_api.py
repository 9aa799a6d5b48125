"""Planning meetings through the API, on the real store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scheduler.directory.demo import demo_units
from tests.conftest import Client, signed_in
from web.keys import CLOCK, UNITS

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
BODY = {
    "title": "Giao ban trực tuyến tuần 48",
    "agenda": "1. Tình hình kinh tế – xã hội\n2. Phòng chống rét cho gia súc",
    "starts_at": "2026-11-30T08:00",
    "ends_at": "2026-11-30T10:30",
    "chair_unit": "laocai",
    "invited_units": ["bac-ha", "bac-ha.na-hoi", "van-ban.cum-nam-chay"],
}


@pytest.fixture
async def host(client: Client) -> str:
    await client.app[UNITS].import_units(demo_units())
    client.app[CLOCK].set(NOW)
    return await signed_in(client, "host")


async def test_plan_read_list_reschedule_cancel(client: Client, host: str) -> None:
    created = await client.post("/api/meetings", json=BODY, headers={"X-CSRF-Token": host})
    assert created.status == 201, await created.text()
    meeting = await created.json()
    assert created.headers["Location"] == f"/api/meetings/{meeting['id']}"
    assert meeting["starts_at"] == "2026-11-30T08:00:00+07:00" and meeting["state"] == "scheduled"
    assert meeting["agenda"].startswith("1. Tình hình")

    fetched = await (await client.get(f"/api/meetings/{meeting['id']}")).json()
    assert fetched == meeting

    listed = await (await client.get("/api/meetings?from=2026-11-30T00:00&to=2026-12-01T00:00")).json()
    assert [m["id"] for m in listed["meetings"]] == [meeting["id"]]
    outside = await (await client.get("/api/meetings?from=2026-12-01T00:00&to=2026-12-31T00:00")).json()
    assert outside["meetings"] == []

    moved = await client.patch(f"/api/meetings/{meeting['id']}", json={"starts_at": "2026-11-30T09:00",
                               "ends_at": "2026-11-30T11:00"}, headers={"X-CSRF-Token": host})  # fmt: skip
    assert moved.status == 200
    assert (await moved.json())["sequence"] == 1

    cancelled = await client.delete(f"/api/meetings/{meeting['id']}", headers={"X-CSRF-Token": host})
    assert (await cancelled.json())["state"] == "cancelled"
    again = await client.delete(f"/api/meetings/{meeting['id']}", headers={"X-CSRF-Token": host})
    assert again.status == 409


async def test_a_weekly_series_is_one_meeting_per_week(client: Client, host: str) -> None:
    body = {**BODY, "recurrence": {"frequency": "weekly", "count": 52}}
    created = await (await client.post("/api/meetings", json=body, headers={"X-CSRF-Token": host})).json()
    assert len(created["occurrences"]) == 52
    year = await (await client.get("/api/meetings?from=2026-11-29T00:00&to=2027-12-01T00:00")).json()
    assert len(year["meetings"]) == 52
    assert len({m["series_id"] for m in year["meetings"]}) == 1
    # One occurrence moves alone.
    third = year["meetings"][2]
    await client.patch(f"/api/meetings/{third['id']}", json={"title": "Giao ban đặc biệt"},
                       headers={"X-CSRF-Token": host})  # fmt: skip
    titles = [m["title"] for m in (await (await client.get("/api/meetings?from=2026-11-29T00:00&to=2027-12-01T00:00"
                                                           )).json())["meetings"]]  # fmt: skip
    assert titles.count("Giao ban đặc biệt") == 1


async def test_bad_input_gets_field_messages_and_stores_nothing(client: Client, host: str) -> None:
    bad = {**BODY, "ends_at": "2026-11-30T07:00", "invited_units": ["bac-ha", "không-có"]}
    response = await client.post("/api/meetings", json=bad, headers={"X-CSRF-Token": host})
    assert response.status == 422
    problems = {p["where"]: p["message"] for p in (await response.json())["error"]["problems"]}
    assert problems == {"ends_at": "Cuộc họp phải kết thúc sau khi bắt đầu",
                        "invited_units/1": "Không có đơn vị không-có"}  # fmt: skip
    listed = await (await client.get("/api/meetings?from=2026-11-01T00:00&to=2027-01-01T00:00")).json()
    assert listed["meetings"] == []


@pytest.mark.parametrize(
    "query", ["from=hôm-qua", "from=2026-12-01T00:00&to=2026-11-01T00:00", "from=2026-01-01T00:00&to=2028-01-01T00:00"]
)
async def test_bad_ranges_are_400(client: Client, host: str, query: str) -> None:
    response = await client.get(f"/api/meetings?{query}")
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "malformed_input"


async def test_unknown_meeting_is_404(client: Client, host: str) -> None:
    for url in ("/api/meetings/khong-co", "/api/meetings/" + "x" * 300):
        response = await client.get(url)
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"
