"""The secretary's pages, rendered by the server: attendance timeline and exports, the dashboard's chart."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

from scheduler.directory.demo import demo_units
from scheduler.meetings.model import VIETNAM
from tests.conftest import Client, signed_in
from tests.service.conftest import START
from web.keys import CLOCK, MEETINGS, UNITS


async def test_the_attendance_page_draws_who_was_connected_when(client: Client, held_meeting: dict) -> None:
    page = await (await client.get(f"/meetings/{held_meeting['id']}/attendance")).text()
    assert "Thời gian kết nối của từng đơn vị" in page
    for extension in ("csv", "xlsx", "pdf"):
        assert f'href="/api/meetings/{held_meeting["id"]}/attendance.{extension}"' in page
    rows = dict(re.findall(r'data-testid="timeline-([\w.-]+)" data-status="(\w+)"', page))
    assert rows == {"laocai": "present", "bac-ha": "present", "bac-ha.na-hoi": "present",
                    "bac-ha.ta-chai": "absent", "van-ban.cum-nam-chay": "late", "sa-pa": "left_early"}  # fmt: skip
    na_hoi = page[
        page.index('data-testid="timeline-bac-ha.na-hoi"') : page.index('data-testid="timeline-bac-ha.ta-chai"')
    ]
    assert na_hoi.count('class="bar"') == 2, "the drop shows as a gap between two bars"
    assert "1 lần mất kết nối" in na_hoi and "Vàng Seo Phủ (Chủ tịch UBND xã)" in na_hoi


async def test_the_meeting_page_shows_the_travel_saved(client: Client, held_meeting: dict) -> None:
    page = await (await client.get(f"/meetings/{held_meeting['id']}")).text()
    saved = re.search(r'data-testid="savings">Tiết kiệm đi lại: ([\d.]+) km, ([\d.]+) đồng', page)
    assert saved is not None
    report = await (await client.get(f"/api/meetings/{held_meeting['id']}/attendance")).json()
    assert int(saved.group(1).replace(".", "")) == round(report["savings"]["km"])
    assert int(saved.group(2).replace(".", "")) == report["savings"]["vnd"]


async def test_the_dashboard_charts_the_months(client: Client, held_meeting: dict) -> None:
    page = await (await client.get("/dashboard")).text()
    columns = re.findall(r'<span class="value">(\d+)</span>\s*<span class="bar" data-height="(\d+)"></span>\s*'
                         r'<span class="label">([\d/]+)</span>', page)  # fmt: skip
    assert len(columns) == 12
    november = [c for c in columns if c[2] == "11/2026"]
    assert november and november[0][1] == "100" and int(november[0][0]) > 100
    assert all(c[0] == "0" for c in columns if c[2] != "11/2026")


async def test_coming_up_lists_what_is_still_to_come_or_under_way_with_its_state(client: Client) -> None:
    await client.app[UNITS].import_units(demo_units())
    clock = client.app[CLOCK]
    clock.set(START - timedelta(hours=3))  # 05:00 Vietnam time
    csrf = await signed_in(client, "host")

    async def plan(title: str, hours: float) -> str:
        start = (START + timedelta(hours=hours)).astimezone(VIETNAM)
        end = start + timedelta(hours=1)
        body = {"title": title, "starts_at": start.strftime("%Y-%m-%dT%H:%M"), "chair_unit": "laocai",
                "ends_at": end.strftime("%Y-%m-%dT%H:%M"), "invited_units": ["sa-pa"]}  # fmt: skip
        created = await client.post("/api/meetings", json=body, headers={"X-CSRF-Token": csrf})
        return str((await created.json())["id"])

    over = await plan("Giao ban đã xong", -2)  # 06:00-07:00
    ended_early = await plan("Giao ban kết thúc sớm", 0)  # 08:00-09:00, the chair ends it at 08:20
    live = await plan("Giao ban đang họp", 0.25)  # 08:15-09:15, under way
    later = await plan("Giao ban tuần sau", 24 * 7)
    cancelled = await plan("Giao ban bị hủy", 3)
    assert (await client.delete(f"/api/meetings/{cancelled}", headers={"X-CSRF-Token": csrf})).status == 200
    clock.set(START + timedelta(minutes=30))  # 08:30
    meetings = client.app[MEETINGS]
    await meetings.update(ended_early, lambda m: dataclasses.replace(m, live_state="ended"))
    await meetings.update(live, lambda m: dataclasses.replace(m, live_state="live"))
    for page in ("/meetings", "/dashboard"):
        html = await (await client.get(page)).text()
        listed = html[html.index('data-testid="coming-up"') :]
        listed = listed[: listed.index("</section>")]
        assert "Giao ban đang họp" in listed and "Giao ban tuần sau" in listed, page
        for gone in ("Giao ban đã xong", "Giao ban kết thúc sớm", "Giao ban bị hủy"):
            assert gone not in listed, (page, gone)
        assert "đã lên lịch" in listed and "đang họp<" in listed, page  # each with its state, in words
    week = await (await client.get("/meetings")).text()  # the week's calendar too, every meeting with its state
    states = dict(re.findall(r'<span>([^<]+)</span>\s*<span class="slot-state" data-state="(\w+)"', week))
    assert states == {"Giao ban đã xong": "ended", "Giao ban kết thúc sớm": "ended", "Giao ban đang họp": "live",
                      "Giao ban bị hủy": "cancelled"}, states  # fmt: skip
    assert over and later
