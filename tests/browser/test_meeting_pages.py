"""Hosts plan a meeting in the browser; secretaries read the attendance page. Real Chromium, real server."""

from __future__ import annotations

import os
from datetime import date, timedelta

from playwright.async_api import Browser, Page, expect

from tests.live import Server

SCREENSHOTS = os.environ.get("GIAOBAN_SCREENSHOTS")  # a folder, to look at the pages by eye


async def sign_in(page: Page, server: Server, username: str, password: str) -> None:
    await page.goto(f"http://127.0.0.1:{server.port}/login")
    await page.get_by_test_id("login-username").fill(username)
    await page.get_by_test_id("login-password").fill(password)
    await page.get_by_test_id("login-button").click()
    await page.wait_for_url("**/dashboard")


async def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=f"{SCREENSHOTS}/{name}.png", full_page=full_page)


async def test_a_host_plans_a_meeting_ticking_a_whole_district(browser: Browser, demo_server: Server) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        await sign_in(page, demo_server, "host", "demo-host")
        await page.goto(f"http://127.0.0.1:{demo_server.port}/meetings")
        await page.get_by_test_id("new-meeting").click()
        await page.get_by_test_id("meeting-title").fill("Giao ban trực tuyến – Phòng chống rét cho gia súc")
        await page.get_by_test_id("meeting-agenda").fill("1. Báo cáo của các huyện\n2. Ý kiến chỉ đạo")
        await page.get_by_test_id("meeting-date").fill((date.today() + timedelta(days=3)).isoformat())
        await page.get_by_test_id("meeting-start").fill("08:00")
        await page.get_by_test_id("meeting-end").fill("10:00")
        await page.get_by_test_id("picker-search").fill("bac ha")  # no tone marks
        await page.get_by_test_id("pick-bac-ha").check()  # the district, and with it its 21 communes
        await expect(page.locator("[data-picked-count]")).to_have_text("22")
        await page.get_by_test_id("picker-search").fill("ta van")  # folded away under Sa Pa until searched
        await page.get_by_test_id("pick-sa-pa.ta-van").check()
        await shot(page, "meeting-form")
        await page.get_by_test_id("meeting-save").click()
        await page.wait_for_url("**/meetings/*")
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Giao ban trực tuyến – Phòng chống rét cho gia súc"
        )
        rows = page.locator("[data-testid=invitations] tbody tr")
        await expect(rows).to_have_count(1 + 22 + 1)  # the chair, Bắc Hà and its communes, Tả Van
        await expect(page.get_by_test_id("invitation-laocai")).to_contain_text("đơn vị chủ trì")
        await page.get_by_test_id("send-invitations").click()
        # No SMTP server is configured for this demo: the page says so, and no row claims its mail is on its way.
        await expect(page.get_by_test_id("notice")).to_contain_text("khi có máy chủ thư")
        await expect(page.get_by_test_id("no-mail-server")).to_contain_text("Chưa cấu hình máy chủ thư")
        await expect(page.get_by_test_id("invitation-bac-ha")).to_have_attribute("data-status", "no_mail_server")
        await shot(page, "meeting-page")
    finally:
        await page.close()


async def test_a_planning_mistake_is_shown_by_its_field(browser: Browser, demo_server: Server) -> None:
    page = await browser.new_page()
    try:
        await sign_in(page, demo_server, "host", "demo-host")
        await page.goto(f"http://127.0.0.1:{demo_server.port}/meetings/new")
        await page.get_by_test_id("meeting-title").fill("Họp thử")
        await page.get_by_test_id("meeting-date").fill((date.today() + timedelta(days=3)).isoformat())
        await page.get_by_test_id("meeting-start").fill("10:00")
        await page.get_by_test_id("meeting-end").fill("09:00")
        await page.get_by_test_id("meeting-save").click()
        await expect(page.get_by_test_id("problem-ends_at")).to_have_text("Cuộc họp phải kết thúc sau khi bắt đầu")
        await expect(page.get_by_test_id("problem-invited_units")).to_have_text("Hãy mời ít nhất một đơn vị")
        await expect(page.get_by_test_id("meeting-title")).to_have_value("Họp thử")  # nothing typed is lost
    finally:
        await page.close()


async def test_a_secretary_sees_the_week_and_may_not_plan(browser: Browser, demo_server: Server) -> None:
    page = await browser.new_page()
    try:
        await sign_in(page, demo_server, "secretary", "demo-secretary")
        await page.goto(f"http://127.0.0.1:{demo_server.port}/meetings")
        await expect(page.get_by_test_id("week")).to_be_visible()
        await expect(page.get_by_test_id("new-meeting")).to_have_count(0)
        response = await page.goto(f"http://127.0.0.1:{demo_server.port}/meetings/new")
        assert response is not None and response.status == 403
        await expect(page.locator("main")).to_contain_text("không được phép")
    finally:
        await page.close()
