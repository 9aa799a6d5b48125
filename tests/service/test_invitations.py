"""Invitations through a real SMTP server (aiosmtpd on loopback): links, ICS, dedupe, retries, reminders."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from datetime import UTC, datetime, timedelta

from aiosmtpd.controller import Controller
from icalendar import Calendar

from scheduler.directory.units import parse_units_csv
from scheduler.meetings.model import VIETNAM
from scheduler.readiness import Devices, judge
from tests.conftest import Client, signed_in
from tests.service.conftest import Inbox
from web.keys import CLOCK, INVITATIONS, READINESS, UNITS

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
DIRECTORY = """code,name,kind,parent_code,lat,lon,emails
lc,UBND tỉnh Lào Cai,province,,22.43,104.00,vanphong@laocai.example
bh,Huyện Bắc Hà,district,lc,22.54,104.29,ubnd@bacha.example;chanh.vanphong@bacha.example
bh.nh,Xã Na Hối,commune,bh,22.55,104.30,nahoi@bacha.example
bh.tc,Xã Tà Chải,commune,bh,22.56,104.31,
"""
MEETING = {
    "title": "Giao ban trực tuyến tuần 48 – Phòng chống rét",
    "agenda": "Báo cáo tình hình rét đậm, rét hại",
    "starts_at": "2026-11-30T08:00",
    "ends_at": "2026-11-30T10:30",
    "chair_unit": "lc",
    "invited_units": ["bh", "bh.nh", "bh.tc"],
}
ADDRESSES = {"vanphong@laocai.example", "ubnd@bacha.example", "chanh.vanphong@bacha.example", "nahoi@bacha.example"}


async def mailing_client(client_with, smtp_port: int) -> tuple[Client, str, dict]:  # type: ignore[no-untyped-def]
    client = await client_with(smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_from="giaoban@laocai.example",
                               mail_retry_seconds=1, public_url="http://giaoban.laocai.example")  # fmt: skip
    client.app[CLOCK].set(NOW)
    await client.app[UNITS].import_units(parse_units_csv(DIRECTORY.encode()))
    token = await signed_in(client, "host")
    created = await client.post("/api/meetings", json=MEETING, headers={"X-CSRF-Token": token})
    assert created.status == 201, await created.text()
    return client, token, await created.json()


def calendar_of(message: email.message.EmailMessage) -> Calendar:
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    return Calendar.from_ical(part.get_content())


def links_in(message: email.message.EmailMessage) -> set[str]:
    text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    return set(re.findall(r"http://giaoban\.laocai\.example/j/[\w.=-]+", text))


async def test_one_invitation_per_address_with_its_own_link_and_a_calendar_entry(client_with, smtp_port, inbox) -> None:  # type: ignore[no-untyped-def]
    client, token, meeting = await mailing_client(client_with, smtp_port)
    response = await client.post(f"/api/meetings/{meeting['id']}/invitations/send", headers={"X-CSRF-Token": token})
    assert (await response.json()) == {"queued": 4}
    await inbox.wait_for(4)
    received = inbox.by_recipient()
    assert set(received) == ADDRESSES and all(len(m) == 1 for m in received.values())

    rows = {r["unit"]: r for r in (await (await client.get(f"/api/meetings/{meeting['id']}/invitations")).json())[
        "invitations"]}  # fmt: skip
    assert [r["role"] for r in rows.values()] == ["chair", "participant", "participant", "participant"]
    assert rows["bh.tc"]["email_status"] == "no_address"
    assert {rows[u]["email_status"] for u in ("lc", "bh", "bh.nh")} == {"sent"}
    unit_of = {"vanphong@laocai.example": "lc", "ubnd@bacha.example": "bh", "chanh.vanphong@bacha.example": "bh",
               "nahoi@bacha.example": "bh.nh"}  # fmt: skip
    for address, (message,) in received.items():
        assert links_in(message) == {rows[unit_of[address]]["join_url"]}, "each e-mail carries its own link only"
        assert message["Subject"] == f"Giấy mời họp trực tuyến: {MEETING['title']}"
        event = calendar_of(message).walk("VEVENT")[0]
        assert calendar_of(message)["METHOD"] == "REQUEST"
        assert event.decoded("dtstart") == datetime(2026, 11, 30, 8, 0, tzinfo=VIETNAM)
        assert str(event["summary"]) == MEETING["title"]
        assert rows[unit_of[address]]["join_url"] in str(event["description"])
        html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
        assert "Kính gửi:" in html and "Vào phòng họp" in html
        assert rows[unit_of[address]]["code"] in html  # the short code, to read out over the phone
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        assert "30/11/2026 lúc 08:00–" in text and "01:00" not in text + html  # Vietnam time, with its date
        assert rows[unit_of[address]]["code"] in message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]

    # Pressing "send" again queues nothing new.
    again = await client.post(f"/api/meetings/{meeting['id']}/invitations/send", headers={"X-CSRF-Token": token})
    assert (await again.json()) == {"queued": 0}


async def test_a_reschedule_sends_an_update_and_a_cancellation_cancels(client_with, smtp_port, inbox) -> None:  # type: ignore[no-untyped-def]
    client, token, meeting = await mailing_client(client_with, smtp_port)
    url = f"/api/meetings/{meeting['id']}"
    await client.post(f"{url}/invitations/send", headers={"X-CSRF-Token": token})
    await inbox.wait_for(4)
    await client.patch(url, json={"starts_at": "2026-11-30T14:00", "ends_at": "2026-11-30T16:00"},
                       headers={"X-CSRF-Token": token})  # fmt: skip
    await inbox.wait_for(8)
    updates = [m for _, m in inbox.messages[4:]]
    assert {calendar_of(m).walk("VEVENT")[0]["SEQUENCE"] for m in updates} == {1}
    assert {calendar_of(m).walk("VEVENT")[0].decoded("dtstart").hour for m in updates} == {14}
    uid = {str(calendar_of(m).walk("VEVENT")[0]["UID"]) for _, m in inbox.messages}
    assert len(uid) == 1, "the same calendar entry is updated, not a second one added"
    await client.delete(url, headers={"X-CSRF-Token": token})
    await inbox.wait_for(12)
    cancellations = [m for _, m in inbox.messages[8:]]
    assert {calendar_of(m)["METHOD"] for m in cancellations} == {"CANCEL"}
    assert all(m["Subject"].startswith("Hủy cuộc họp:") for m in cancellations)


async def test_smtp_down_is_retried_and_each_mail_delivered_once(client_with, smtp_port) -> None:  # type: ignore[no-untyped-def]
    client, token, meeting = await mailing_client(client_with, smtp_port)  # nothing listens on smtp_port yet
    await client.post(f"/api/meetings/{meeting['id']}/invitations/send", headers={"X-CSRF-Token": token})
    rows_url = f"/api/meetings/{meeting['id']}/invitations"
    for _ in range(100):
        rows = (await (await client.get(rows_url)).json())["invitations"]
        if rows[0]["email_status"] == "retrying":
            break
        await asyncio.sleep(0.05)
    assert rows[0]["email_status"] == "retrying" and rows[0]["last_error"]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        await handler.wait_for(4, seconds=20)
        await asyncio.sleep(2)  # a further retry round would show here as a duplicate
        assert sorted(r for r, _ in handler.messages) == sorted(ADDRESSES)
    finally:
        controller.stop()
    rows = (await (await client.get(rows_url)).json())["invitations"]
    assert rows[0]["email_status"] == "sent" and rows[0]["sent_at"]


async def test_two_server_processes_share_the_outbox_without_sending_twice(client_with, smtp_port, inbox) -> None:  # type: ignore[no-untyped-def]
    first, token, _ = await mailing_client(client_with, smtp_port)
    await client_with(smtp_host="127.0.0.1", smtp_port=smtp_port, mail_retry_seconds=1)  # a second sender, same store
    many = [{**MEETING, "title": f"Họp số {i}"} for i in range(10)]
    for body in many:
        created = await (await first.post("/api/meetings", json=body, headers={"X-CSRF-Token": token})).json()
        await first.post(f"/api/meetings/{created['id']}/invitations/send", headers={"X-CSRF-Token": token})
    await inbox.wait_for(40, seconds=30)
    subjects = [(r, m["Subject"]) for r, m in inbox.messages]
    assert len(subjects) == len(set(subjects)) == 40


async def test_reminders_are_queued_once_and_sent_at_their_time(client_with, smtp_port, inbox) -> None:  # type: ignore[no-untyped-def]
    client, token, meeting = await mailing_client(client_with, smtp_port)
    await client.post(f"/api/meetings/{meeting['id']}/invitations/send", headers={"X-CSRF-Token": token})
    await inbox.wait_for(4)
    invitations = client.app[INVITATIONS]
    start = datetime.fromisoformat(meeting["starts_at"])
    first = await invitations.queue_reminders(start - timedelta(minutes=20))
    second = await invitations.queue_reminders(start - timedelta(minutes=14))
    assert first == 4 and second == 0
    # Due 15 minutes before a start that is a week away: they wait in the outbox, not in anyone's inbox.
    await asyncio.sleep(1.5)
    assert len(inbox.messages) == 4
    jobs = [j for j in await client.app[INVITATIONS].outbox.jobs_of(meeting["id"]) if j.kind == "reminder"]
    assert len(jobs) == 4 and {j.status for j in jobs} == {"queued"}


async def test_a_regenerated_link_replaces_the_old_one(client_with, smtp_port) -> None:  # type: ignore[no-untyped-def]
    client, token, meeting = await mailing_client(client_with, smtp_port)
    rows = (await (await client.get(f"/api/meetings/{meeting['id']}/invitations")).json())["invitations"]
    old = rows[2]["join_url"]
    client.app[CLOCK].set(datetime.fromisoformat(meeting["starts_at"]) - timedelta(minutes=10))
    path = old.removeprefix("http://giaoban.laocai.example")
    page = await client.get(path)
    assert page.status == 200 and MEETING["title"] in await page.text() and "Xã Na Hối" in await page.text()
    fresh = await client.post(f"/api/meetings/{meeting['id']}/invitations/bh.nh/regenerate",
                              headers={"X-CSRF-Token": token})  # fmt: skip
    new = (await fresh.json())["join_url"]
    assert new != old
    refused = await client.get(path)
    assert refused.status == 403 and "đã được thay bằng đường liên kết mới" in await refused.text()
    assert (await client.get(new.removeprefix("http://giaoban.laocai.example"))).status == 200


async def test_links_work_only_from_lobby_opening_until_two_hours_after_the_end(client_with, smtp_port) -> None:  # type: ignore[no-untyped-def]
    client, _, meeting = await mailing_client(client_with, smtp_port)
    rows = (await (await client.get(f"/api/meetings/{meeting['id']}/invitations")).json())["invitations"]
    path = rows[1]["join_url"].removeprefix("http://giaoban.laocai.example")
    start, end = datetime.fromisoformat(meeting["starts_at"]), datetime.fromisoformat(meeting["ends_at"])
    # before the room opens the link leads to the technical check (any day before); then to the join form
    early = "check-early"
    expectations = [(start - timedelta(days=6), 200, early), (start - timedelta(minutes=31), 200, early),
                    (start - timedelta(minutes=29), 200, "join-card"), (end + timedelta(minutes=119), 200, "join-card"),
                    (end + timedelta(minutes=121), 403, "")]  # fmt: skip
    for moment, status, page in expectations:
        client.app[CLOCK].set(moment)
        response = await client.get(path)
        assert response.status == status, moment
        assert not page or f'data-testid="{page}"' in await response.text(), moment
    assert (await client.get("/j/forged.token")).status == 403
    assert (await client.get(path[:-3] + "abc")).status == 403


async def test_the_host_reminds_the_units_that_have_not_checked(client_with, smtp_port, inbox) -> None:  # type: ignore[no-untyped-def]
    client, _, meeting = await mailing_client(client_with, smtp_port)
    checked = judge("bh", NOW, Devices(camera_fps=25, mic_level=0.3, sound_heard=True), {"level": "full"})
    await client.app[READINESS].save(meeting["id"], checked)
    page = await client.get(f"/meetings/{meeting['id']}")
    html = await page.text()
    assert 'data-testid="readiness-bh" data-verdict="ready"' in html
    assert 'data-testid="readiness-bh.nh" data-verdict="none"' in html
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html)[1]  # type: ignore[index]
    sent = await client.post(f"/meetings/{meeting['id']}/check-reminders", data={"csrf_token": csrf},
                             allow_redirects=False)  # fmt: skip
    assert sent.status == 303
    await inbox.wait_for(2)  # lc and bh.nh have addresses and no check; bh checked; bh.tc has no address
    received = inbox.by_recipient()
    assert set(received) == {"vanphong@laocai.example", "nahoi@bacha.example"}
    message = received["nahoi@bacha.example"][0]
    assert message["Subject"] == f"Kiểm tra kỹ thuật trước cuộc họp: {MEETING['title']}"
    assert not any(part.get_content_type() == "text/calendar" for part in message.walk())
    assert "kiểm tra kỹ thuật" in message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert len(links_in(message)) == 1
    forged = await client.post(f"/meetings/{meeting['id']}/check-reminders", data={"csrf_token": "forged"})
    assert forged.status == 403
