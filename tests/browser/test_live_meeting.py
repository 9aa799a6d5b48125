"""A chair and two communes meet in real headless Chromium with fake cameras, through the real relay."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from scheduler.meetings.model import VIETNAM
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, until_true
from tests.browser.test_meeting_pages import shot
from tests.live import Server

CHAIR, NA_HOI, TA_VAN = "laocai", "bac-ha.na-hoi", "sa-pa.ta-van"


async def plan_meeting_now(context: BrowserContext, server: Server,
                           starts_in: timedelta = timedelta(minutes=5)) -> tuple[str, dict[str, str]]:  # fmt: skip
    """As the host, over the API: a meeting starting in a few minutes (its room is open), and its links."""
    base = f"{server.scheme}://127.0.0.1:{server.port}"
    session = await (await context.request.post(f"{base}/api/session",
                                                data={"username": "host", "password": "demo-host"})).json()  # fmt: skip
    start = datetime.now(VIETNAM) + starts_in
    body = {"title": "Giao ban trực tuyến – Ứng phó rét đậm, rét hại", "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"), "chair_unit": CHAIR,
            "invited_units": [NA_HOI, TA_VAN]}  # fmt: skip
    headers = {"X-CSRF-Token": session["csrf_token"]}
    meeting = await (await context.request.post(f"{base}/api/meetings", data=body, headers=headers)).json()
    invitations = await (await context.request.get(f"{base}/api/meetings/{meeting['id']}/invitations")).json()
    return meeting["id"], {row["unit"]: row["join_url"] for row in invitations["invitations"]}


async def join(browser: Browser, url: str, name: str, position: str = "") -> Page:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(url)
    await page.get_by_test_id("join-name").fill(name)
    await page.get_by_test_id("join-position").fill(position)
    await page.get_by_test_id("join-button").click()
    await expect(page.get_by_test_id("room")).to_be_visible()
    return page


async def slot_figure(page: Page, slot: str, figure: str) -> int:
    """One of the page's receiving statistics for ``slot`` (0 before anything came)."""
    stats: dict[str, Any] = await page.evaluate("window.giaobanStats()")
    return int(stats.get(slot, {}).get(figure, 0))


async def frames_decoded(page: Page, slot: str) -> int:
    return await slot_figure(page, slot, "framesDecoded")


async def packets(page: Page, slot: str) -> int:
    return await slot_figure(page, slot, "packetsReceived")


async def decoding(page: Page, slot: str, timeout: float = 15.0) -> int:
    """Wait until the slot's video decodes and keeps decoding; the count reached."""
    deadline = asyncio.get_running_loop().time() + timeout
    first = await frames_decoded(page, slot)
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.5)
        now = await frames_decoded(page, slot)
        if now > max(first, 10):
            return now
    state = await page.evaluate("window.giaobanConnection()")
    stats = await page.evaluate("window.giaobanStats()")
    raise AssertionError(f"{slot} decoded {await frames_decoded(page, slot)} frames in {timeout} s ({state}, {stats})")


async def attendance(context: BrowserContext, server: Server, meeting_id: str) -> dict[str, Any]:
    base = f"{server.scheme}://127.0.0.1:{server.port}"
    return dict(await (await context.request.get(f"{base}/api/meetings/{meeting_id}/attendance")).json())


async def test_chair_and_two_communes_meet(browser: Browser, demo_server: Server) -> None:
    host = await browser.new_context()
    meeting_id, links = await plan_meeting_now(host, demo_server)
    chair = await join(browser, links[CHAIR], "Nguyễn Văn Hải", "Phó Chủ tịch UBND tỉnh")
    na_hoi = await join(browser, links[NA_HOI], "Vàng Seo Phủ", "Chủ tịch UBND xã")
    ta_van = await join(browser, links[TA_VAN], "Giàng Thị Mai", "Công chức Văn phòng - Thống kê")
    try:
        for page in (na_hoi, ta_van):  # every participant decodes the chair's picture
            await decoding(page, "chair-video")
        # each size of each picture sent within its cap: a commune's shared uplink, the chair's three sizes
        assert (await ta_van.evaluate("window.giaobanConnection()"))["limits"] == {
            "video": 400_000, "video-small": 150_000, "screen": 500_000}  # fmt: skip
        assert (await chair.evaluate("window.giaobanConnection()"))["limits"] == {
            "video": 1_200_000, "video-medium": 450_000, "video-small": 150_000, "screen": 500_000}  # fmt: skip
        # nothing nobody receives is sent: a commune's voice before it has the floor, its full picture (only the
        # floor's is shown), the chair's small size while no line needs it; the communes' small pictures are on
        # the chair's console, so they are sent
        await until_true(na_hoi, "window.giaobanConnection().sending.audio === false")
        await until_true(na_hoi, "window.giaobanConnection().sending.video === false")
        assert (await na_hoi.evaluate("window.giaobanConnection()"))["sending"] == {
            "audio": False, "video": False, "video-small": True, "screen": False}  # fmt: skip
        await until_true(chair, "window.giaobanConnection().sending['video-small'] === false")
        voice = (await na_hoi.evaluate("window.giaobanSent()"))["audio"]
        await asyncio.sleep(1)
        assert (await na_hoi.evaluate("window.giaobanSent()"))["audio"] == voice
        await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).to_have_attribute("data-state", "connected")
        await expect(chair.get_by_test_id("endpoint-bac-ha")).to_have_count(0)  # not invited

        await na_hoi.get_by_test_id("raise-hand").click()
        await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).to_have_attribute("data-hand", "1")
        await expect(chair.get_by_test_id("hands-list")).to_contain_text("Vàng Seo Phủ")
        await chair.get_by_test_id(f"give-floor-{NA_HOI}").click()
        await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).to_have_attribute("data-hand", "0")
        await expect(ta_van.get_by_test_id("floor-name")).to_contain_text("Xã Na Hối")
        await decoding(ta_van, "floor-video")  # the other commune sees the floor holder
        assert (await na_hoi.evaluate("window.giaobanConnection()"))["sending"]["audio"] is True  # and hears it:
        heard = await packets(ta_van, "floor-audio-0")
        await asyncio.sleep(1)
        assert await packets(ta_van, "floor-audio-0") > heard + 25
        await decoding(chair, "floor-video")  # and so does the chair
        await shot(chair, "chair-console")
        await shot(ta_van, "participant-view")

        await ta_van.get_by_test_id("leave").click()  # leaves on purpose (and says so once)
        await ta_van.get_by_test_id("confirm-yes").click()
        await na_hoi.close()  # a closed tab: dropped
        await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).to_have_attribute("data-state", "dropped",
                                                                                    timeout=15_000)  # fmt: skip
        report = await attendance(host, demo_server, meeting_id)
        units = {row["unit"]: row for row in report["units"]}
        assert units[TA_VAN]["status"] in ("present", "left_early")
        assert units[NA_HOI]["drops"] >= 1
    finally:
        for page in (chair, na_hoi, ta_van):
            if not page.is_closed():
                await page.close()
        await host.close()


def server_peers(port: int) -> set[int]:
    """The client ports of every TCP connection the server on ``port`` has open."""
    listing = subprocess.run(["ss", "-Htn", "state", "established", f"( sport = :{port} )"], check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
    return {int(line.split()[-1].rsplit(":", 1)[1]) for line in listing.splitlines() if line.strip()}


def cut_line(port: int, clients: set[int]) -> None:
    """Abort those connections, as a commune's line going down does (needs CAP_NET_ADMIN, as CI has)."""
    for client in clients:
        subprocess.run(["ss", "-K", "state", "established", f"( sport = :{port} and dport = :{client} )"],
                       check=True, capture_output=True)  # fmt: skip


async def test_a_dropped_line_comes_back_and_the_chair_runs_the_meeting(browser: Browser, demo_server: Server) -> None:
    host = await browser.new_context()
    meeting_id, links = await plan_meeting_now(host, demo_server)
    chair = await join(browser, links[CHAIR], "Nguyễn Văn Hải", "Phó Chủ tịch UBND tỉnh")
    ta_van = await join(browser, links[TA_VAN], "Giàng Thị Mai")
    pages = [chair, ta_van]
    try:
        await expect(chair.get_by_test_id(f"endpoint-{TA_VAN}")).to_have_attribute("data-state", "connected")
        others = server_peers(demo_server.port)
        na_hoi = await join(browser, links[NA_HOI], "Vàng Seo Phủ", "Chủ tịch UBND xã")
        pages.append(na_hoi)
        await decoding(na_hoi, "chair-video")
        na_hois = server_peers(demo_server.port) - others
        assert na_hois, "Na Hối's page holds no connection of its own"

        cut_line(demo_server.port, na_hois)  # the line drops: the page comes back by itself with the same link
        await expect(na_hoi.get_by_test_id("status")).to_contain_text("Mất kết nối; sẽ kết nối lại sau 1 giây")
        await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).to_have_attribute("data-state", "connected",
                                                                                    timeout=15_000)  # fmt: skip
        await decoding(na_hoi, "chair-video")
        units = {row["unit"]: row for row in (await attendance(host, demo_server, meeting_id))["units"]}
        assert units[NA_HOI]["drops"] == 1 and len(units[NA_HOI]["intervals"]) == 2, units[NA_HOI]

        await chair.get_by_test_id(f"mute-{NA_HOI}").click()
        await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).to_have_attribute("data-muted", "1")
        await expect(na_hoi.get_by_test_id("status")).to_contain_text("Chủ trì đã tắt micrô của bạn.")
        await ta_van.get_by_test_id("raise-hand").click()  # any change in the room: the notice stays
        await expect(chair.get_by_test_id(f"endpoint-{TA_VAN}")).to_have_attribute("data-hand", "1")
        await expect(na_hoi.get_by_test_id("status")).to_contain_text("Chủ trì đã tắt micrô của bạn.")

        await chair.get_by_test_id("roll-call").click()  # roll call: every commune is asked, one answers
        for page in (na_hoi, ta_van):
            await expect(page.get_by_test_id("roll-call-prompt")).to_be_visible()
        await na_hoi.get_by_test_id("roll-call-answer").click()
        await expect(na_hoi.get_by_test_id("roll-call-prompt")).to_be_hidden()
        await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).to_contain_text("có mặt")
        await expect(chair.get_by_test_id(f"endpoint-{TA_VAN}")).not_to_contain_text("có mặt")
        await expect(ta_van.get_by_test_id("roll-call-prompt")).to_be_visible()  # not answered yet
        for _ in range(20):  # the answer goes to attendance through a queue
            units = {row["unit"]: row for row in (await attendance(host, demo_server, meeting_id))["units"]}
            if units[NA_HOI]["roll_call"]:
                break
            await asyncio.sleep(0.25)
        assert len(units[NA_HOI]["roll_call"]) == 1 and not units[TA_VAN]["roll_call"]

        await decoding(ta_van, "chair-video")  # audio only, asked for: the picture stops, the voice goes on
        await ta_van.get_by_test_id("audio-only").click()
        await expect(ta_van.get_by_test_id("audio-only")).to_have_attribute("aria-pressed", "true")
        await asyncio.sleep(1.5)
        frames, voice = await frames_decoded(ta_van, "chair-video"), await packets(ta_van, "chair-audio")
        await asyncio.sleep(2)
        assert await frames_decoded(ta_van, "chair-video") == frames
        assert await packets(ta_van, "chair-audio") > voice + 50  # Opus: 50 packets a second
        await ta_van.get_by_test_id("audio-only").click()  # and back
        await decoding(ta_van, "chair-video")

        await chair.get_by_test_id("lock").click()
        await expect(chair.get_by_test_id("lock")).to_have_attribute("aria-pressed", "true")
        await chair.get_by_test_id(f"kick-{TA_VAN}").click()
        await chair.get_by_test_id("confirm-yes").click()
        await expect(ta_van.get_by_test_id("end-screen")).to_have_attribute("data-reason", "removed")
        await asyncio.sleep(2)  # a removed page does not come back by itself
        await expect(chair.get_by_test_id(f"endpoint-{TA_VAN}")).to_have_attribute("data-state", "removed")
        await chair.get_by_test_id(f"let-back-{TA_VAN}").click()  # let back in, but the meeting is locked
        await expect(chair.get_by_test_id(f"endpoint-{TA_VAN}")).to_have_attribute("data-state", "absent")
        await ta_van.reload()
        await ta_van.get_by_test_id("join-name").fill("Giàng Thị Mai")
        await ta_van.get_by_test_id("join-button").click()
        await expect(ta_van.get_by_test_id("join-error")).to_have_text(
            "Chủ trì đã khóa cuộc họp; không đơn vị nào vào thêm được"
        )

        await chair.get_by_test_id("end-meeting").click()
        await chair.get_by_test_id("confirm-yes").click()
        await expect(na_hoi.get_by_test_id("end-screen")).to_have_attribute("data-reason", "ended")
        await expect(na_hoi.get_by_test_id("end-title")).to_have_text("Cuộc họp đã kết thúc")
        await asyncio.sleep(2)
        assert (await na_hoi.evaluate("window.giaobanConnection()"))["socket"] != 1  # and stays out
        await na_hoi.reload()  # the link no longer works
        await expect(na_hoi.get_by_role("alert")).to_have_text(
            "Cuộc họp đã kết thúc; đường liên kết không còn dùng được"
        )
        await expect(na_hoi.get_by_test_id("join-button")).to_have_count(0)
    finally:
        for page in pages:
            if not page.is_closed():
                await page.close()
        await host.close()


async def test_the_join_page_lets_a_commune_pick_its_microphone(browser: Browser, demo_server: Server) -> None:
    host = await browser.new_context()
    _, links = await plan_meeting_now(host, demo_server)
    page = await browser.new_page()
    try:
        await page.goto(links[NA_HOI])
        microphones = page.get_by_test_id("microphone-select")
        await expect(microphones.locator("option")).to_have_count(3)  # Chromium's fake: a default and two more
        await expect(page.get_by_test_id("camera-select")).to_be_hidden()  # one camera: nothing to choose
        previewed = "document.getElementById('preview').srcObject.getAudioTracks()[0].getSettings().deviceId"
        assert await microphones.input_value() == await page.evaluate(previewed)

        second = await microphones.locator("option").nth(2).get_attribute("value")
        await microphones.select_option(second)
        await until_true(page, f"{previewed} === {second!r}")  # the preview (what joining sends) follows
        await until_true(page, "parseFloat(document.getElementById('level').style.width) > 0")  # it hears
        assert await page.evaluate("document.getElementById('preview').srcObject.getVideoTracks().length") == 1
        await shot(page, "join-page")
    finally:
        await page.close()
        await host.close()


@pytest.mark.parametrize(("without", "says"), [
    ("--use-fake-ui-for-media-stream", "Camera hoặc micrô đang bị chặn."),  # nobody allows: the browser refuses
    ("--use-fake-device-for-media-stream", "Không tìm thấy camera hoặc micrô."),  # this machine has none
])  # fmt: skip
async def test_the_join_page_says_plainly_when_devices_are_blocked_or_missing(
    browser: Browser, demo_server: Server, without: str, says: str
) -> None:
    host = await browser.new_context()
    _, links = await plan_meeting_now(host, demo_server)
    other = await browser.browser_type.launch(executable_path=CHROMIUM, args=[a for a in CHROMIUM_ARGS if a != without])
    try:
        page = await other.new_page()
        await page.goto(links[TA_VAN])
        await expect(page.get_by_test_id("device-message")).to_contain_text(says)
        await expect(page.get_by_test_id("device-message")).to_contain_text("Bạn vẫn có thể vào họp để nghe.")
        await page.get_by_test_id("join-name").fill("Giàng Thị Mai")  # and joining still works, to listen
        await page.get_by_test_id("join-button").click()
        await expect(page.get_by_test_id("room")).to_be_visible()
        await expect(page.get_by_test_id("status")).to_contain_text("Đang chờ chủ trì")
    finally:
        await other.close()
        await host.close()


async def test_a_server_restart_brings_everyone_back(browser: Browser, tmp_path: Path) -> None:
    """A restart (an upgrade, a crash) is not the end of the meeting: pages come back by themselves."""
    arguments = ("--demo", "--log-level", "WARNING")
    server = await asyncio.to_thread(Server, tmp_path, *arguments)
    host = await browser.new_context()
    pages: list[Page] = []
    try:
        meeting_id, links = await plan_meeting_now(host, server)
        chair = await join(browser, links[CHAIR], "Nguyễn Văn Hải")
        na_hoi = await join(browser, links[NA_HOI], "Vàng Seo Phủ")
        pages += [chair, na_hoi]
        await decoding(na_hoi, "chair-video")

        await asyncio.to_thread(server.stop)
        await expect(na_hoi.get_by_test_id("status")).to_contain_text("Mất kết nối; sẽ kết nối lại")
        server = await asyncio.to_thread(Server, tmp_path, *arguments, port=server.port)
        await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).to_have_attribute("data-state", "connected",
                                                                                    timeout=30_000)  # fmt: skip
        await decoding(na_hoi, "chair-video", timeout=30)
        units = {row["unit"]: row for row in (await attendance(host, server, meeting_id))["units"]}
        assert units[NA_HOI]["drops"] == 1 and len(units[NA_HOI]["intervals"]) == 2, units[NA_HOI]
        assert units[CHAIR]["drops"] == 1 and len(units[CHAIR]["intervals"]) == 2, units[CHAIR]
    finally:
        for page in pages:
            await page.close()
        await host.close()
        if server.process.poll() is None:
            await asyncio.to_thread(server.stop)
