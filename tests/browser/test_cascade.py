"""A commune of a district served by its own server, in Debian Chromium: its links point at the district server
(the province's directory says so), the technical check runs there and the province's host sees its verdict, and
in the meeting it sees and hears the province's chair through the district server, and the chair sees it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, expect

from tests.browser.conftest import until_true
from tests.browser.test_live_meeting import CHAIR, NA_HOI, decoding, join, plan_meeting_now
from tests.browser.test_technical_check import TWO_DAYS, run_check
from tests.cascade import Cascade, cascaded
from tests.live import Node


@pytest.fixture
def cascade(tmp_path: Path) -> Iterator[Cascade]:
    with cascaded(tmp_path, "--log-level", "WARNING") as made:
        yield made


async def serve_bac_ha_from(context: BrowserContext, province: Node, district: Node) -> None:
    """As the demo admin, in the directory: Bắc Hà's communes join through the district's server."""
    signed_in = await context.request.post(f"{province.base}/api/session",
                                           data={"username": "admin", "password": "demo-admin"})  # fmt: skip
    csrf = (await signed_in.json())["csrf_token"]
    rows = ("code,name,kind,parent_code,lat,lon,emails,server_url\n"
            f"bac-ha,Huyện Bắc Hà,district,laocai,22.54,104.289,bac-ha@laocai.example,{district.base}\n")  # fmt: skip
    headers = {"Content-Type": "text/csv", "X-CSRF-Token": csrf}
    response = await context.request.post(f"{province.base}/api/units/import", data=rows.encode(), headers=headers)
    assert response.status == 200, await response.text()


async def test_a_commune_checks_and_meets_through_its_district_server(browser: Browser, cascade: Cascade) -> None:
    province, district = cascade.province, cascade.district
    admin = await browser.new_context()
    await serve_bac_ha_from(admin, province, district)
    await admin.close()

    # two days before: the check, on the district server; the province's host sees the unit ready
    host = await browser.new_context()
    later_id, later = await plan_meeting_now(host, province.server, starts_in=TWO_DAYS)
    assert later[NA_HOI].startswith(f"{district.base}/j/"), later
    commune = await browser.new_context()
    page = await commune.new_page()
    assert await run_check(page, later[NA_HOI]) == "ready"
    readiness = await host.new_page()
    await readiness.goto(f"{province.base}/meetings/{later_id}")
    await expect(readiness.get_by_test_id(f"readiness-{NA_HOI}")).to_have_attribute("data-verdict", "ready")

    # the meeting: the chair on the province's server, the commune on the district's
    _, links = await plan_meeting_now(host, province.server)
    chair = await join(browser, links[CHAIR], "Nguyễn Văn Hải", "Phó Chủ tịch UBND tỉnh")
    na_hoi = await join(browser, links[NA_HOI], "Vàng Seo Phủ", "Chủ tịch UBND xã")
    assert na_hoi.url.startswith(district.base)
    await decoding(na_hoi, "chair-video")
    await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).to_have_attribute("data-state", "connected")
    await chair.get_by_test_id(f"give-floor-{NA_HOI}").click()
    await decoding(chair, "floor-video")  # the commune's picture, up through its district server
    await until_true(na_hoi, "window.giaobanConnection().sending.audio === true")  # the room asks for its voice
    for context in (host, commune):
        await context.close()
    await chair.close()
    await na_hoi.close()
