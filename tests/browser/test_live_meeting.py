"""A chair and two communes meet in real headless Chromium with fake cameras, through the real relay."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, expect

from scheduler.meetings.model import VIETNAM
from tests.browser.test_meeting_pages import shot
from tests.live import Server

CHAIR, NA_HOI, TA_VAN = "laocai", "bac-ha.na-hoi", "sa-pa.ta-van"


async def plan_meeting_now(context: BrowserContext, server: Server) -> tuple[str, dict[str, str]]:
    """As the host, over the API: a meeting starting in a few minutes (its room is open), and its links."""
    base = f"http://127.0.0.1:{server.port}"
    session = await (await context.request.post(f"{base}/api/session",
                                                data={"username": "host", "password": "demo-host"})).json()  # fmt: skip
    start = datetime.now(VIETNAM) + timedelta(minutes=5)
    body = {"title": "Giao ban trực tuyến – Ứng phó rét đậm, rét hại", "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"), "chair_unit": CHAIR,
            "invited_units": [NA_HOI, TA_VAN]}  # fmt: skip
    headers = {"X-CSRF-Token": session["csrf_token"]}
    meeting = await (await context.request.post(f"{base}/api/meetings", data=body, headers=headers)).json()
    invitations = await (await context.request.get(f"{base}/api/meetings/{meeting['id']}/invitations")).json()
    return meeting["id"], {row["unit"]: row["join_url"] for row in invitations["invitations"]}


async def join(browser: Browser, url: str, name: str, position: str = "") -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(url)
    await page.get_by_test_id("join-name").fill(name)
    await page.get_by_test_id("join-position").fill(position)
    await page.get_by_test_id("join-button").click()
    await expect(page.get_by_test_id("room")).to_be_visible()
    return page


async def frames_decoded(page: Page, slot: str) -> int:
    stats: dict[str, Any] = await page.evaluate("window.giaobanStats()")
    return int(stats.get(slot, {}).get("framesDecoded", 0))


async def decoding(page: Page, slot: str, timeout: float = 15.0) -> int:
    """Wait until the slot's video decodes and keeps decoding; the count reached."""
    deadline = asyncio.get_running_loop().time() + timeout
    first = await frames_decoded(page, slot)
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.5)
        now = await frames_decoded(page, slot)
        if now > max(first, 10):
            return now
    state = await page.evaluate("window.giaobanConnection()")
    stats = await page.evaluate("window.giaobanStats()")
    raise AssertionError(f"{slot} decoded {await frames_decoded(page, slot)} frames in {timeout} s ({state}, {stats})")


async def attendance(context: BrowserContext, server: Server, meeting_id: str) -> dict[str, Any]:
    base = f"http://127.0.0.1:{server.port}"
    return dict(await (await context.request.get(f"{base}/api/meetings/{meeting_id}/attendance")).json())


async def test_chair_and_two_communes_meet(browser: Browser, demo_server: Server) -> None:
    host = await browser.new_context()
    meeting_id, links = await plan_meeting_now(host, demo_server)
    chair = await join(browser, links[CHAIR], "Nguyễn Văn Hải", "Phó Chủ tịch UBND tỉnh")
    na_hoi = await join(browser, links[NA_HOI], "Vàng Seo Phủ", "Chủ tịch UBND xã")
    ta_van = await join(browser, links[TA_VAN], "Giàng Thị Mai", "Công chức Văn phòng - Thống kê")
    try:
        for page in (na_hoi, ta_van):  # every participant decodes the chair's picture
            await decoding(page, "chair-video")
        await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).to_have_attribute("data-state", "connected")
        await expect(chair.get_by_test_id("endpoint-bac-ha")).to_have_count(0)  # not invited

        await na_hoi.get_by_test_id("raise-hand").click()
        await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).to_have_attribute("data-hand", "1")
        await expect(chair.get_by_test_id("hands")).to_contain_text("Vàng Seo Phủ")
        await chair.get_by_test_id(f"give-floor-{NA_HOI}").click()
        await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).to_have_attribute("data-hand", "0")
        await expect(ta_van.get_by_test_id("floor-name")).to_contain_text("Xã Na Hối")
        await decoding(ta_van, "floor-video")  # the other commune sees the floor holder
        await decoding(chair, "floor-video")  # and so does the chair
        await shot(chair, "chair-console")
        await shot(ta_van, "participant-view")

        await ta_van.get_by_test_id("leave").click()  # leaves on purpose
        await na_hoi.close()  # a closed tab: dropped
        await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).to_have_attribute("data-state", "dropped",
                                                                                    timeout=15_000)  # fmt: skip
        report = await attendance(host, demo_server, meeting_id)
        units = {row["unit"]: row for row in report["units"]}
        assert units[TA_VAN]["status"] in ("present", "left_early")
        assert units[NA_HOI]["drops"] >= 1
    finally:
        for page in (chair, na_hoi, ta_van):
            if not page.is_closed():
                await page.close()
        await host.close()
