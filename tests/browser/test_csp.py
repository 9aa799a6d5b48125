"""The Content-Security-Policy as Chromium enforces it: every page works with no inline script or style, and the
browser reports no violation (a blocked script or style would also break the page)."""

from __future__ import annotations

from playwright.async_api import Browser, ConsoleMessage, expect

from tests.browser.test_live_meeting import CHAIR, plan_meeting_now
from tests.browser.test_meeting_pages import sign_in
from tests.live import Server


async def test_pages_run_under_the_policy_without_a_violation(browser: Browser, demo_server: Server) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    meeting_id, links = await plan_meeting_now(context, demo_server)
    page = await context.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if _is_violation(m) else None)
    report = "e => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI)"
    await page.add_init_script(f"document.addEventListener('securitypolicyviolation', {report})")
    base = f"http://127.0.0.1:{demo_server.port}"
    try:
        await sign_in(page, demo_server, "admin", "demo-admin")
        for path in ["/dashboard", "/meetings", "/meetings/new", f"/meetings/{meeting_id}",
                     f"/meetings/{meeting_id}/attendance", "/units", "/recordings"]:  # fmt: skip
            await page.goto(base + path)
            await page.wait_for_load_state("networkidle")
        await page.goto(f"{base}/meetings/{meeting_id}/attendance")
        tick = page.locator(".tick").first
        assert (await tick.evaluate("e => e.style.left")).endswith("%")  # set by /static/page.js, not inline
        await page.goto(f"{base}/meetings/{meeting_id}")
        page.once("dialog", lambda dialog: dialog.dismiss())  # the confirm that /static/page.js asks
        await page.locator("form[data-confirm] button").first.click()
        await expect(page).to_have_url(f"{base}/meetings/{meeting_id}")  # dismissed: nothing was sent
        await page.goto(links[CHAIR])
        await expect(page.get_by_test_id("join-button")).to_be_visible()
        await page.wait_for_timeout(500)
        assert violations == []
    finally:
        await context.close()


def _is_violation(message: ConsoleMessage) -> bool:
    return "Content Security Policy" in message.text or message.text.startswith("CSP violation")
