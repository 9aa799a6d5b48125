"""Real Chromium pages on two nodes of one cluster: the meeting crosses between them, and outlives its origin."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from scheduler.store.embedded import EmbeddedValkey
from tests.browser.test_live_meeting import CHAIR, NA_HOI, TA_VAN, decoding, frames_decoded, join, plan_meeting_now
from tests.live import Server


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[tuple[Server, Server]]:
    store = EmbeddedValkey(tmp_path / "store")
    await store.start()
    shared = ("--redis-url", store.url, "--log-level", "WARNING")
    a = await asyncio.to_thread(Server, tmp_path / "a", "--demo", "--node-id", "node-a", *shared)
    b = await asyncio.to_thread(Server, tmp_path / "b", "--node-id", "node-b", *shared)
    try:
        yield a, b
    finally:
        for server in (b, a):
            if server.process.poll() is None:
                await asyncio.to_thread(server.stop)
        await store.stop()


async def decoding_afresh(page: Page, slot: str, before: int, until: float) -> bool:
    """Whether the slot's count (``before`` when the line went) starts again (a new media connection) and passes 10
    frames before ``until``."""
    last, restarted = before, False
    while time.monotonic() < until:
        now = await frames_decoded(page, slot)
        restarted = restarted or now < last
        if restarted and now > 10:
            return True
        last = now
        await asyncio.sleep(0.2)
    return False


def link(url: str, node: Server) -> str:
    """The same join link, on another node (every node serves every meeting)."""
    return f"http://127.0.0.1:{node.port}/j/{url.rsplit('/', 1)[1]}"


async def test_chair_on_one_node_and_communes_on_the_other_see_and_hear_each_other(
    browser: Browser, nodes: tuple[Server, Server]
) -> None:
    a, b = nodes
    host = await browser.new_context()
    pages: list[Page] = []
    try:
        _, links = await plan_meeting_now(host, a)
        chair = await join(browser, link(links[CHAIR], a), "Nguyễn Văn Hải", "Phó Chủ tịch UBND tỉnh")
        na_hoi = await join(browser, link(links[NA_HOI], b), "Vàng Seo Phủ", "Chủ tịch UBND xã")
        ta_van = await join(browser, link(links[TA_VAN], b), "Giàng Thị Mai")
        pages += [chair, na_hoi, ta_van]
        for page in (na_hoi, ta_van):  # the chair's picture crosses from node A to node B
            await decoding(page, "chair-video")
        await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).to_have_attribute("data-state", "connected")
        await chair.get_by_test_id(f"give-floor-{NA_HOI}").click()
        await expect(ta_van.get_by_test_id("floor-name")).to_contain_text("Xã Na Hối")
        await decoding(ta_van, "floor-video")  # the floor holder's picture, on the same node
        await decoding(chair, "floor-video")  # and across to the chair's
    finally:
        for page in pages:
            await page.close()
        await host.close()


async def test_when_the_origin_is_killed_the_other_nodes_pages_are_back_within_15_s(
    browser: Browser, nodes: tuple[Server, Server]
) -> None:
    a, b = nodes
    host = await browser.new_context()
    pages: list[Page] = []
    try:
        _, links = await plan_meeting_now(host, b)
        na_hoi = await join(browser, link(links[NA_HOI], a), "Vàng Seo Phủ")  # the first join: node A holds it
        chair = await join(browser, link(links[CHAIR], b), "Nguyễn Văn Hải")
        ta_van = await join(browser, link(links[TA_VAN], b), "Giàng Thị Mai")
        pages += [na_hoi, chair, ta_van]
        await decoding(ta_van, "chair-video")
        await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).to_have_attribute("data-state", "connected")

        seen = await frames_decoded(ta_van, "chair-video")
        a.process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        await asyncio.to_thread(a.process.wait, 10)
        # node B's pages reconnect by themselves (a new media connection: its count starts again), and node B
        # holds the meeting now
        assert seen > 10
        await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).not_to_have_attribute("data-state", "connected",
                                                                                        timeout=15_000)  # fmt: skip
        await expect(chair.get_by_test_id(f"endpoint-{TA_VAN}")).to_have_attribute("data-state", "connected",
                                                                                    timeout=15_000)  # fmt: skip
        assert await decoding_afresh(ta_van, "chair-video", seen, until=killed + 15), "the chair's picture is not back"

    finally:
        for page in pages:
            if not page.is_closed():
                await page.close()
        await host.close()
