"""axe-core (from npm, pinned in tests/browser/axe/package.json) run inside Chromium on the join page, the room and
the chair's console: no serious or critical violation of WCAG 2.1 A/AA."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.test_live_meeting import CHAIR, NA_HOI, join, plan_meeting_now
from tests.live import Server

AXE_DIR = Path(__file__).parent / "axe"
AXE = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():  # the README's test command on a machine with npm: install the pinned checker once
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("axe-core is missing and there is no npm to install it: install Debian's npm (.ci/run does)")
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--no-package-lock", "--no-save"], cwd=AXE_DIR,
                       check=True, capture_output=True, timeout=300)  # fmt: skip
    return AXE.read_text()


async def violations(page: Page, source: str) -> list[dict[str, Any]]:
    """Serious and critical findings. The script goes in through the debugging protocol: the page's
    Content-Security-Policy (no inline script) would refuse a script tag."""
    await page.evaluate(source + "\n;true")
    found: list[dict[str, Any]] = await page.evaluate(
        """(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}}).then((result) =>
             result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) =>
               ({id: v.id, impact: v.impact, help: v.help,
                 nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' '))})))""",
        RULES,
    )
    return found


SMALL_TEXT = """() => Array.from(document.querySelectorAll('body *')).filter((e) =>
    e.offsetParent !== null && Array.from(e.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim())
    && parseFloat(getComputedStyle(e).fontSize) < 14).map((e) => e.tagName + ' ' + e.textContent.trim().slice(0, 30))"""


async def test_the_join_page_the_room_and_the_console_pass_axe(browser: Browser, demo_server: Server,
                                                                axe_source: str) -> None:  # fmt: skip
    host = await browser.new_context()
    _, links = await plan_meeting_now(host, demo_server)
    page = await browser.new_page(viewport={"width": 1366, "height": 768})
    pages = [page]
    try:
        await page.goto(links[NA_HOI])
        await expect(page.get_by_test_id("join-button")).to_be_visible()
        assert await violations(page, axe_source) == [], "join page"
        assert await page.evaluate(SMALL_TEXT) == []
        chair = await join(browser, links[CHAIR], "Nguyễn Văn Hải")
        pages.append(chair)
        commune = await join(browser, links[NA_HOI], "Vàng Seo Phủ")
        pages.append(commune)
        await expect(commune.get_by_test_id("status-banner")).to_have_attribute("data-status", "listening")
        await commune.get_by_test_id("chat-input").fill("Xin hỏi")
        await commune.get_by_test_id("chat-send").click()
        await expect(chair.get_by_test_id("chat-message")).to_have_count(1)
        assert await violations(commune, axe_source) == [], "room"
        assert await commune.evaluate(SMALL_TEXT) == []
        await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).to_have_attribute("data-state", "connected")
        assert await violations(chair, axe_source) == [], "console"
        assert await chair.evaluate(SMALL_TEXT) == []
    finally:
        for opened in pages:
            if not opened.is_closed():
                await opened.close()
        await host.close()


async def test_a_commune_joins_and_raises_its_hand_with_the_keyboard_alone(
    browser: Browser, demo_server: Server
) -> None:
    host = await browser.new_context()
    _, links = await plan_meeting_now(host, demo_server)
    chair = await join(browser, links[CHAIR], "Nguyễn Văn Hải")
    page = await browser.new_page(viewport={"width": 1024, "height": 768})
    try:
        await page.goto(links[NA_HOI])
        await page.keyboard.type("Vàng Seo Phủ")  # the name field has the focus
        await page.keyboard.press("Enter")
        await expect(page.get_by_test_id("status-banner")).to_have_attribute("data-status", "listening")
        for _ in range(12):  # Tab through the room's controls to the hand
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.id") == "raise-hand":
                break
        assert await page.evaluate("document.activeElement.id") == "raise-hand"
        outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"  # the focus is visible
        await page.keyboard.press("Enter")
        await expect(chair.get_by_test_id(f"hand-{NA_HOI}")).to_be_visible()
    finally:
        await page.close()
        await chair.close()
        await host.close()
