"""Headless Debian Chromium driven by Playwright, against a real ``giaoban serve``.

Playwright cannot download its own browser here; it drives ``/usr/bin/chromium`` (``.ci/run`` installs it).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from tests.live import Server, serving
from web.bench.netns import CommuneLine

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
    # For the live-meeting tests: fake camera and microphone, no permission prompt.
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection", "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(Path(tmp_path_factory.mktemp("browser")), "--demo", "--log-level", "WARNING") as server:
        yield server


@contextlib.asynccontextmanager
async def chromium_on_line(line: CommuneLine, port: int, folder: Path, *args: str) -> AsyncIterator[Browser]:
    """Chromium inside a commune line's network namespace (through an ``ip netns exec`` wrapper), driven by Playwright
    over its pipe as usual. The service is reached at the near end of the veth pair, which is not a secure context:
    the flag makes it one, so the page gets the fake camera and microphone all the same."""
    wrapper = folder / "chromium-in-namespace"
    wrapper.write_text(f'#!/bin/sh\nexec ip netns exec {line.namespace} {CHROMIUM} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    origin = f"http://{line.near_address}:{port}"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(wrapper), args=[
            *CHROMIUM_ARGS, f"--unsafely-treat-insecure-origin-as-secure={origin}", *args])  # fmt: skip
        yield browser
        await browser.close()


async def until_true(page: Page, expression: str, timeout: float = 10.0) -> None:
    """Poll ``expression`` in the page until it is true. Playwright's own ``wait_for_function`` polls with an eval
    inside the page, which the Content-Security-Policy (no 'unsafe-eval') blocks; ``evaluate`` goes through the
    debugging protocol, which it does not."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await page.evaluate(expression):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        await asyncio.sleep(0.05)
