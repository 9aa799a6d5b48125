"""The secretary's pages, rendered by the server: attendance timeline and exports, the dashboard's chart."""

from __future__ import annotations

import re

from tests.conftest import Client


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
