"""Ways into a meeting besides the e-mailed link: the host's own button, a copy button per unit, a short code."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.browser.test_live_meeting import CHAIR, NA_HOI, plan_meeting_now
from tests.browser.test_meeting_pages import shot, sign_in
from tests.live import Server


async def test_the_host_enters_as_chair_copies_a_link_and_a_commune_comes_in_by_its_code(
    browser: Browser, demo_server: Server
) -> None:
    host = await browser.new_context(permissions=["clipboard-read", "clipboard-write"],
                                     viewport={"width": 1366, "height": 900})  # fmt: skip
    meeting_id, links = await plan_meeting_now(host, demo_server)
    page = await host.new_page()
    commune = await browser.new_page()
    try:
        await sign_in(page, demo_server, "host", "demo-host")
        await page.goto(f"http://127.0.0.1:{demo_server.port}/meetings/{meeting_id}")
        chair_way = page.get_by_test_id("join-as-chair")
        await expect(chair_way).to_have_text("Vào phòng (chủ trì)")
        assert await chair_way.get_attribute("href") == links[CHAIR]
        await page.get_by_test_id(f"copy-{NA_HOI}").click()
        await expect(page.get_by_test_id(f"copy-{NA_HOI}")).to_have_text("Đã chép")
        assert await page.evaluate("navigator.clipboard.readText()") == links[NA_HOI]
        code = (await page.get_by_test_id(f"code-{NA_HOI}").inner_text()).strip()
        assert len(code) == 11 and code[3] == code[7] == "-", code
        await shot(page, "meeting-ways-in")

        await commune.goto(f"http://127.0.0.1:{demo_server.port}/")  # read out over the phone, typed at home
        await commune.get_by_test_id("code-input").fill("000 000 000")
        await commune.get_by_test_id("code-go").click()
        await expect(commune.get_by_test_id("code-error")).to_contain_text("Không có cuộc họp nào mang mã này")
        await commune.get_by_test_id("code-input").fill(code.replace("-", " "))
        await commune.get_by_test_id("code-go").click()
        await expect(commune.get_by_test_id("meeting-head")).to_contain_text("Xã Na Hối")
        await expect(commune.get_by_test_id("join-button")).to_be_visible()
    finally:
        await commune.close()
        await host.close()
