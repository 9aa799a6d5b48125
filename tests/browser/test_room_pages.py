"""The join page, the room and its end screens as a commune's staff meets them, in real headless Chromium.

Office screens (1366×768, 1024×768), the devices switched before and after joining, and what every way out of a
meeting leaves behind: an end screen, and every camera and microphone track the page opened ended (the light off).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import until_true
from tests.browser.test_live_meeting import CHAIR, NA_HOI, TA_VAN, join, plan_meeting_now
from tests.browser.test_meeting_pages import shot
from tests.live import Server


async def tracks(page: Page) -> list[dict[str, Any]]:
    return list(await page.evaluate("window.giaobanTracks()"))


async def all_ended(page: Page) -> None:
    opened = await tracks(page)
    assert opened, "the page opened no track"
    await until_true(page, "window.giaobanTracks().every(function (t) { return t.state === 'ended'; })")


async def confirm(page: Page, button: str) -> None:
    """Press a button that asks once, and say yes."""
    await page.get_by_test_id(button).click()
    await expect(page.get_by_test_id("confirm")).to_be_visible()
    await page.get_by_test_id("confirm-yes").click()


@pytest.mark.parametrize("size", [(1366, 768), (1024, 768)])
async def test_the_join_form_fits_an_office_screen_with_the_name_field_focused(
    browser: Browser, demo_server: Server, size: tuple[int, int]
) -> None:
    host = await browser.new_context()
    _, links = await plan_meeting_now(host, demo_server)
    page = await browser.new_page(viewport={"width": size[0], "height": size[1]})
    try:
        await page.goto(links[NA_HOI])
        head = page.get_by_test_id("meeting-head")
        await expect(head).to_contain_text("Giao ban trực tuyến – Ứng phó rét đậm, rét hại")
        await expect(page.get_by_test_id("meeting-when")).to_contain_text(":")
        assert await page.evaluate("document.activeElement.id") == "join-name"
        for element in ("join-button", "join-name", "meeting-head"):
            await expect(page.get_by_test_id(element)).to_be_in_viewport(ratio=1)
        assert await page.evaluate("window.scrollY") == 0
        await until_true(page, "window.giaobanTracks().length >= 2")  # the preview: camera and microphone
        # switched off before joining: the tracks go quiet, the buttons say what they do now
        await page.get_by_test_id("preview-camera-toggle").click()
        await expect(page.get_by_test_id("preview-camera-toggle")).to_have_attribute("aria-pressed", "false")
        await expect(page.get_by_test_id("preview-camera-toggle")).to_contain_text("Bật camera")
        assert await page.evaluate(
            "window.giaobanTracks().length && document.getElementById('preview').srcObject.getVideoTracks()[0].enabled"
        ) is False  # fmt: skip
        await page.get_by_test_id("test-sound").click()
        await expect(page.get_by_test_id("device-message")).to_contain_text("âm thanh thử")
        await shot(page, f"join-{size[0]}x{size[1]}")
    finally:
        await page.close()
        await host.close()


async def test_the_room_says_what_happens_and_every_way_out_releases_the_devices(
    browser: Browser, demo_server: Server
) -> None:
    host = await browser.new_context()
    _, links = await plan_meeting_now(host, demo_server)
    na_hoi = await join(browser, links[NA_HOI], "Vàng Seo Phủ")
    pages = [na_hoi]
    try:
        banner = na_hoi.get_by_test_id("status-banner")
        await expect(banner).to_have_attribute("data-status", "lobby")  # before the chair comes
        await expect(na_hoi.get_by_test_id("lobby")).to_be_visible()
        await expect(na_hoi.get_by_test_id("lobby-countdown")).to_contain_text("phút")
        await shot(na_hoi, "lobby")
        chair = await join(browser, links[CHAIR], "Nguyễn Văn Hải")
        ta_van = await join(browser, links[TA_VAN], "Giàng Thị Mai")
        pages += [chair, ta_van]
        await expect(banner).to_have_attribute("data-status", "listening")
        await expect(na_hoi.get_by_test_id("status")).to_have_text("Bạn đang theo dõi cuộc họp.")
        assert await na_hoi.evaluate("!!document.getElementById('self-view').srcObject")
        assert await na_hoi.evaluate(
            "getComputedStyle(document.getElementById('self-view')).transform") != "none"  # mirrored  # fmt: skip

        await na_hoi.get_by_test_id("raise-hand").click()
        await expect(banner).to_have_attribute("data-status", "hand")
        await expect(na_hoi.get_by_test_id("raise-hand")).to_contain_text("Hạ tay")
        await chair.get_by_test_id(f"hand-give-floor-{NA_HOI}").click()
        await expect(banner).to_have_attribute("data-status", "floor")
        await na_hoi.get_by_test_id("mic-toggle").click()  # its own microphone off: it is told, not two lines
        await expect(na_hoi.get_by_test_id("mic-toggle")).to_have_attribute("aria-pressed", "false")
        await expect(na_hoi.get_by_test_id("status")).to_contain_text("micrô đang tắt")
        microphone = "document.getElementById('self-view').srcObject.getAudioTracks()[0].enabled"
        assert await na_hoi.evaluate(microphone) is False
        await na_hoi.get_by_test_id("mic-toggle").click()
        await chair.get_by_test_id(f"mute-{NA_HOI}").click()  # the chair mutes it: that is what it reads
        await expect(na_hoi.get_by_test_id("status")).to_have_text("Chủ trì đã tắt micrô của bạn.")
        await expect(chair.get_by_test_id(f"mute-{NA_HOI}")).to_have_text("Bật micrô")
        await chair.get_by_test_id("lock").click()
        await expect(chair.get_by_test_id("lock")).to_have_attribute("aria-pressed", "true")
        await expect(chair.get_by_test_id("lock")).to_contain_text("Mở khóa phòng")
        await chair.get_by_test_id("lock").click()
        await expect(chair.get_by_test_id("lock")).to_contain_text("Khóa phòng")
        await shot(na_hoi, "room")

        await confirm(na_hoi, "leave")  # leaves on purpose: "you left", and a way back
        end = na_hoi.get_by_test_id("end-screen")
        await expect(end).to_have_attribute("data-reason", "left")
        await expect(na_hoi.get_by_test_id("room")).to_be_hidden()
        await all_ended(na_hoi)
        await shot(na_hoi, "end-left")
        await na_hoi.get_by_test_id("rejoin").click()
        await expect(na_hoi.get_by_test_id("room")).to_be_visible()
        await expect(chair.get_by_test_id(f"endpoint-{NA_HOI}")).to_have_attribute("data-state", "connected")

        await confirm(chair, f"kick-{TA_VAN}")  # removed: it stays out, even when it reloads its link
        await expect(ta_van.get_by_test_id("end-screen")).to_have_attribute("data-reason", "removed")
        await expect(ta_van.get_by_test_id("rejoin")).to_be_hidden()
        await all_ended(ta_van)
        await shot(ta_van, "end-removed")
        await expect(chair.get_by_test_id(f"endpoint-{TA_VAN}")).to_have_attribute("data-state", "removed")
        await expect(chair.get_by_test_id(f"endpoint-{TA_VAN}")).to_contain_text("đã bị mời ra")
        await ta_van.reload()
        await ta_van.get_by_test_id("join-name").fill("Giàng Thị Mai")
        await ta_van.get_by_test_id("join-button").click()
        await expect(ta_van.get_by_test_id("end-screen")).to_have_attribute("data-reason", "removed")
        await all_ended(ta_van)
        await chair.get_by_test_id(f"let-back-{TA_VAN}").click()  # until the chair lets it back
        await expect(chair.get_by_test_id(f"endpoint-{TA_VAN}")).to_have_attribute("data-state", "absent")
        await ta_van.reload()
        await ta_van.get_by_test_id("join-name").fill("Giàng Thị Mai")
        await ta_van.get_by_test_id("join-button").click()
        await expect(chair.get_by_test_id(f"endpoint-{TA_VAN}")).to_have_attribute("data-state", "connected")

        await chair.get_by_test_id("end-meeting").click()  # asks once: "no" keeps the meeting
        await chair.get_by_test_id("confirm-no").click()
        await expect(chair.get_by_test_id("room")).to_be_visible()
        await confirm(chair, "end-meeting")
        for page in (na_hoi, ta_van, chair):
            await expect(page.get_by_test_id("end-screen")).to_have_attribute("data-reason", "ended")
            await all_ended(page)
        await expect(chair.get_by_test_id("end-attendance")).to_be_visible()
        await expect(chair.get_by_test_id("end-recordings")).to_be_visible()
        await shot(na_hoi, "end-ended")
        await shot(chair, "end-ended-chair")
    finally:
        for page in pages:
            await page.close()
        await host.close()


async def test_chat_questions_reach_the_chair_alone_and_markup_stays_text(
    browser: Browser, demo_server: Server
) -> None:
    host = await browser.new_context()
    _, links = await plan_meeting_now(host, demo_server)
    chair = await join(browser, links[CHAIR], "Nguyễn Văn Hải")
    na_hoi = await join(browser, links[NA_HOI], "Vàng Seo Phủ")
    ta_van = await join(browser, links[TA_VAN], "Giàng Thị Mai")
    pages = [chair, na_hoi, ta_van]
    attack = '<img src=x onerror="window.pwned=1">Xin hỏi <b>kinh phí</b> hỗ trợ?'
    try:
        await expect(na_hoi.get_by_test_id("chat-to")).to_have_value("chair")  # a unit writes to the chair
        await na_hoi.get_by_test_id("chat-input").fill(attack)
        await na_hoi.get_by_test_id("chat-send").click()
        question = chair.get_by_test_id("chat-message")
        await expect(question).to_have_count(1)
        await expect(question).to_have_attribute("data-from", NA_HOI)
        await expect(question).to_contain_text("Xã Na Hối (Vàng Seo Phủ)")
        await expect(question.locator(".chat-text")).to_have_text(attack)  # as typed, shown as text
        await expect(na_hoi.get_by_test_id("chat-message")).to_have_count(1)  # its own
        await asyncio.sleep(0.5)
        await expect(ta_van.get_by_test_id("chat-message")).to_have_count(0)  # not the other commune
        for page in pages:
            assert await page.evaluate("window.pwned") is None
            assert await page.locator("#chat-messages img, #chat-messages b").count() == 0

        await chair.get_by_test_id("chat-to").select_option("everyone")  # the chair writes to all
        await chair.get_by_test_id("chat-input").fill("Các đơn vị gửi báo cáo trước 17 giờ.")
        await chair.get_by_test_id("chat-input").press("Enter")
        for page in pages:
            await expect(page.get_by_test_id("chat-message").last).to_contain_text("gửi báo cáo trước 17 giờ.")
        await expect(ta_van.get_by_test_id("chat-message")).to_have_count(1)
        await expect(ta_van.get_by_test_id("chat-message")).to_have_attribute("data-from", CHAIR)
        await chair.get_by_test_id("chat-to").select_option(NA_HOI)  # and answers one unit
        await chair.get_by_test_id("chat-input").fill("Xã Na Hối: sẽ trả lời sau cuộc họp.")
        await chair.get_by_test_id("chat-send").click()
        await expect(na_hoi.get_by_test_id("chat-message")).to_have_count(3)
        await asyncio.sleep(0.5)
        await expect(ta_van.get_by_test_id("chat-message")).to_have_count(1)
        await shot(chair, "chat")
    finally:
        for page in pages:
            await page.close()
        await host.close()
