"""A district presents a tab of known content through the relay to the chair and another commune, in real Chromium,
until the chair stops it.

Headless Chromium captures a tab without a dialog with ``--auto-select-tab-capture-source-by-title=TITLE`` (the
tab whose title it is), as long as ``--use-fake-ui-for-media-stream`` is not given (that one answers every
getDisplayMedia with a fake green screen instead); the camera and microphone are then granted to the pages by
Playwright's permissions, still from the fake devices."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, until_true
from tests.browser.test_live_meeting import CHAIR, NA_HOI, TA_VAN, decoding, plan_meeting_now, slot_figure
from tests.live import Server

SLIDE_TITLE = "Bao cao huyen Bac Ha"  # ASCII: Chromium matched no tab by a title with Vietnamese letters
SLIDE = f"<title>{SLIDE_TITLE}</title><body style='margin:0;background:#ff00ff'><h1>Sản lượng lúa 2026</h1></body>"
# the middle of the picture's left edge, read from a canvas: magenta, not the fake screen's green
PIXEL = """() => { const v = document.getElementById('presentation-video'); const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight; const g = c.getContext('2d'); g.drawImage(v, 0, 0);
  return Array.from(g.getImageData(8, Math.floor(c.height / 2), 1, 1).data); }"""


@pytest_asyncio.fixture
async def sharing_browser() -> AsyncIterator[Browser]:
    args = [a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=[
            *args, f"--auto-select-tab-capture-source-by-title={SLIDE_TITLE}"])  # fmt: skip
        yield browser
        await browser.close()


async def joined(browser: Browser, url: str, name: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    await context.grant_permissions(["camera", "microphone"])
    page = await context.new_page()
    await page.goto(url)
    await page.get_by_test_id("join-name").fill(name)
    await page.get_by_test_id("join-button").click()
    await expect(page.get_by_test_id("room")).to_be_visible()
    return page


async def test_the_floor_holder_presents_everyone_sees_it_and_the_chair_stops_it(
    sharing_browser: Browser, demo_server: Server
) -> None:
    browser = sharing_browser
    host = await browser.new_context()
    pages: list[Page] = []
    try:
        _, links = await plan_meeting_now(host, demo_server)
        chair = await joined(browser, links[CHAIR], "Nguyễn Văn Hải")
        na_hoi = await joined(browser, links[NA_HOI], "Vàng Seo Phủ")
        ta_van = await joined(browser, links[TA_VAN], "Giàng Thị Mai")
        slide = await na_hoi.context.new_page()
        await slide.set_content(SLIDE)  # the district's report, open in another tab of its browser
        pages += [chair, na_hoi, ta_van, slide]
        await expect(na_hoi.get_by_test_id("share-screen")).to_be_hidden()  # not without the floor
        await expect(chair.get_by_test_id("share-screen")).to_be_visible()
        await chair.get_by_test_id(f"give-floor-{NA_HOI}").click()
        await na_hoi.get_by_test_id("share-screen").click()
        await until_true(na_hoi, "window.giaobanConnection().capturing === true")

        for page in (chair, ta_van):
            await expect(page.get_by_test_id("presentation-video")).to_be_visible()
            await decoding(page, "presentation")
            assert await slot_figure(page, "presentation", "frameWidth") >= 1000  # readable: sent large
            red, green, blue, _ = await page.evaluate(PIXEL)
            assert red > 180 and blue > 180 and green < 110, (red, green, blue)  # the district's tab, as it is
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
