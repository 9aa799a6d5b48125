"""The directory page in a real browser: sign in with the form, find a commune without typing tone marks."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.live import Server


async def test_a_host_signs_in_and_finds_a_commune_without_tone_marks(browser: Browser, demo_server: Server) -> None:
    page = await browser.new_page()
    try:
        await page.goto(f"http://127.0.0.1:{demo_server.port}/units")
        await expect(page.get_by_role("heading")).to_have_text("Đăng nhập")
        await page.get_by_test_id("login-username").fill("host")
        await page.get_by_test_id("login-password").fill("demo-host")
        await page.get_by_test_id("login-button").click()
        await page.wait_for_url("**/units")
        await expect(page.locator("li.unit:not([hidden])")).to_have_count(170)  # clusters start folded

        await page.get_by_test_id("unit-search").fill("nam xay")
        visible = page.locator("li.unit:visible > details > summary .name, li.unit:visible > .name")
        await expect(visible).to_have_text(["UBND tỉnh Lào Cai", "Huyện Văn Bàn", "Cụm xã Nậm Chày", "Xã Nậm Xây"])

        await page.get_by_test_id("unit-search").fill("không có nơi nào như thế")
        await expect(page.get_by_test_id("no-match")).to_be_visible()
        await page.get_by_test_id("unit-search").fill("")
        await expect(page.locator("li.unit:not([hidden])")).to_have_count(170)  # clusters start folded
    finally:
        await page.close()


async def test_a_wrong_password_is_explained_in_vietnamese(browser: Browser, demo_server: Server) -> None:
    page = await browser.new_page()
    try:
        await page.goto(f"http://127.0.0.1:{demo_server.port}/login")
        await page.get_by_test_id("login-username").fill("host")
        await page.get_by_test_id("login-password").fill("sai-mật-khẩu")
        await page.get_by_test_id("login-button").click()
        await expect(page.get_by_test_id("login-error")).to_have_text("Sai tên đăng nhập hoặc mật khẩu")
    finally:
        await page.close()
