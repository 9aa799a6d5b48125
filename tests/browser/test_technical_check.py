"""The technical check in Debian Chromium: a unit opens its link two days before the meeting and checks its camera,
microphone, speakers and line through the real relay; the host's readiness table shows the verdict.

A blocked microphone (a browser that was not given it) must name the microphone as what to fix; a line held to
150 kbit/s (tbf in a network namespace, as the commune-line test does) must get "audio only".
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, chromium_on_line
from tests.browser.test_live_meeting import NA_HOI, TA_VAN, plan_meeting_now
from tests.browser.test_meeting_pages import shot
from tests.live import Server, serving
from web.bench.netns import CommuneLine, commune_line

TWO_DAYS = timedelta(days=2)


async def run_check(page: Page, url: str) -> str:
    """Open the link, run the check, answer that the test sound was heard; the verdict."""
    await page.goto(url)
    await expect(page.get_by_test_id("check-early")).to_be_visible()
    await page.get_by_test_id("check-start").click()
    await page.get_by_test_id("check-sound-heard").click(timeout=15_000)
    verdict = page.get_by_test_id("check-verdict")
    await expect(verdict).to_be_visible(timeout=45_000)
    print("check:", await page.get_by_test_id("line-result").inner_text(), "|",
          await page.get_by_test_id("line-figures").inner_text())  # fmt: skip
    return str(await verdict.get_attribute("data-verdict"))


async def test_a_unit_checks_two_days_early_and_the_host_sees_it_ready(browser: Browser, demo_server: Server) -> None:
    context = await browser.new_context()
    meeting_id, links = await plan_meeting_now(context, demo_server, starts_in=TWO_DAYS)
    page = await context.new_page()
    assert await run_check(page, links[NA_HOI]) == "ready"
    await shot(page, "check-ready")
    assert await page.get_by_test_id("camera-result").get_attribute("class") == "good"
    assert await page.get_by_test_id("mic-result").get_attribute("class") == "good"
    figures = await page.get_by_test_id("line-figures").inner_text()
    assert "ms" in figures and "kbit/s" in figures
    # the host's meeting page: the unit's row with its verdict and figures; the other unit has not checked
    await page.goto(f"{demo_server.scheme}://127.0.0.1:{demo_server.port}/meetings/{meeting_id}")
    checked = page.get_by_test_id(f"readiness-{NA_HOI}")
    await checked.scroll_into_view_if_needed()
    await shot(page, "readiness", full_page=False)
    assert await checked.get_attribute("data-verdict") == "ready"
    assert "ms" in await checked.inner_text()
    assert await page.get_by_test_id(f"readiness-{TA_VAN}").get_attribute("data-verdict") == "none"
    await context.close()


@pytest.fixture
async def browser_without_microphone() -> AsyncIterator[Browser]:
    """Chromium that asks before giving a device (no fake permission prompt): the context grants the camera
    alone, so the microphone is refused as a person's "Block" would refuse it."""
    args = [arg for arg in CHROMIUM_ARGS if arg != "--use-fake-ui-for-media-stream"]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        yield browser
        await browser.close()


async def test_a_blocked_microphone_is_what_to_fix(browser_without_microphone: Browser, demo_server: Server) -> None:
    context = await browser_without_microphone.new_context(permissions=["camera"])
    _, links = await plan_meeting_now(context, demo_server, starts_in=TWO_DAYS)
    page = await context.new_page()
    assert await run_check(page, links[NA_HOI]) == "problem"
    await shot(page, "check-problem")
    fixes = page.get_by_test_id("check-fixes")
    assert "micrô" in (await fixes.inner_text()).lower()
    assert await fixes.locator("li[data-fix=microphone]").count() == 1
    assert await page.get_by_test_id("camera-result").get_attribute("class") == "good"
    await context.close()


@pytest.fixture
def line() -> Iterator[CommuneLine]:
    with commune_line("check") as made:
        made.shape(150)
        yield made


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with serving(tmp_path / "data", "--demo", "--host", "0.0.0.0", "--log-level", "WARNING") as running:
        yield running


async def test_a_line_held_to_150_kbits_is_audio_only(tmp_path: Path, line: CommuneLine, server: Server) -> None:
    async with chromium_on_line(line, server.port, tmp_path) as browser:
        context = await browser.new_context()
        _, links = await plan_meeting_now(context, server, starts_in=TWO_DAYS)
        page = await context.new_page()
        verdict = await run_check(page, links[NA_HOI].replace("0.0.0.0", line.near_address))
        fixes = await page.get_by_test_id("check-fixes").inner_text()
        figures = await page.get_by_test_id("line-figures").inner_text()
    assert verdict == "audio-only", (fixes, figures)
    assert "âm thanh" in fixes.lower()
