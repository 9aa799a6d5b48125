"""A district presents its screen: real Chromium (its fake screen answers getDisplayMedia at once, no dialog, with
--use-fake-ui-for-media-stream), through the relay to the chair and another commune, until the chair stops it."""

from __future__ import annotations

from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import until_true
from tests.browser.test_live_meeting import CHAIR, NA_HOI, TA_VAN, decoding, join, plan_meeting_now, slot_figure
from tests.live import Server


async def test_the_floor_holder_presents_everyone_sees_it_and_the_chair_stops_it(
    browser: Browser, demo_server: Server
) -> None:
    host = await browser.new_context()
    pages: list[Page] = []
    try:
        _, links = await plan_meeting_now(host, demo_server)
        chair = await join(browser, links[CHAIR], "Nguyễn Văn Hải")
        na_hoi = await join(browser, links[NA_HOI], "Vàng Seo Phủ")
        ta_van = await join(browser, links[TA_VAN], "Giàng Thị Mai")
        pages += [chair, na_hoi, ta_van]
        await expect(na_hoi.get_by_test_id("share-screen")).to_be_hidden()  # not without the floor
        await expect(chair.get_by_test_id("share-screen")).to_be_visible()
        await chair.get_by_test_id(f"give-floor-{NA_HOI}").click()
        await na_hoi.get_by_test_id("share-screen").click()
        await until_true(na_hoi, "window.giaobanConnection().capturing === true")

        for page in (chair, ta_van):
            await expect(page.get_by_test_id("presentation-video")).to_be_visible()
            await decoding(page, "presentation")
            assert await slot_figure(page, "presentation", "frameWidth") >= 1000  # readable: sent large
        await expect(ta_van.get_by_test_id("presenter-name")).to_contain_text("Xã Na Hối")
        await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).to_have_attribute("data-presenting", "1")
        await expect(na_hoi.get_by_test_id("presentation-video")).to_be_hidden()  # the presenter sees its own screen

        await chair.get_by_test_id("stop-share").click()
        await expect(ta_van.get_by_test_id("presentation-video")).to_be_hidden()
        await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).to_have_attribute("data-presenting", "0")
        await until_true(na_hoi, "window.giaobanConnection().capturing === false")  # its screen is let go
        await expect(na_hoi.get_by_test_id("share-screen")).to_be_visible()  # it may present again
    finally:
        for page in pages:
            await page.close()
        await host.close()
