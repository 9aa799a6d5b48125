"""A weekly series as a series: its page, one invitation per contact with a recurring calendar entry (RRULE, EXDATE
for a cancelled occurrence, an override for a moved one), one link per unit that opens each occurrence in its
window and not between, and "this and all following" for edit and cancel."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from icalendar import Calendar

from scheduler.meetings.model import VIETNAM
from tests.conftest import Client, signed_in
from tests.service.conftest import Inbox, closed, next_of
from tests.service.test_invitations import ADDRESSES, MEETING, calendar_of, links_in, mailing_client
from web.keys import CLOCK, MEETINGS

FIRST = datetime(2026, 11, 30, 8, 0, tzinfo=VIETNAM)


async def plan_series(client: Client, token: str) -> list[dict]:
    body = {**MEETING, "recurrence": {"frequency": "weekly", "count": 4}}
    created = await (await client.post("/api/meetings", json=body, headers={"X-CSRF-Token": token})).json()
    return [await (await client.get(f"/api/meetings/{o['id']}")).json() for o in created["occurrences"]]


async def send_series(client: Client, series_id: str) -> None:
    page = await (await client.get(f"/series/{series_id}")).text()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]  # type: ignore[index]
    sent = await client.post(f"/series/{series_id}/invitations/send", data={"csrf_token": csrf}, allow_redirects=False)
    assert sent.status == 303


def events(calendar: Calendar) -> tuple[list, list]:
    found = calendar.walk("VEVENT")
    return [e for e in found if "RRULE" in e], [e for e in found if "RECURRENCE-ID" in e]


async def test_one_invitation_per_contact_for_the_whole_series(client_with, smtp_port, inbox: Inbox) -> None:  # type: ignore[no-untyped-def]
    client, token, single = await mailing_client(client_with, smtp_port)
    occurrences = await plan_series(client, token)
    series_id = occurrences[0]["series_id"]
    cancelled = await client.delete(f"/api/meetings/{occurrences[1]['id']}", headers={"X-CSRF-Token": token})
    assert cancelled.status == 200
    page = await (await client.get(f"/series/{series_id}")).text()
    assert page.count('data-testid="occurrence-') == 4 and 'data-state="cancelled"' in page
    assert "Thứ Hai hằng tuần, 08:00–10:30" in page
    label = await (await client.get(f"/meetings/{occurrences[2]['id']}")).text()
    assert 'data-testid="series-label"' in label and "buổi 3/4" in label

    await send_series(client, series_id)
    await inbox.wait_for(len(ADDRESSES))
    received = inbox.by_recipient()
    assert set(received) == ADDRESSES and all(len(m) == 1 for m in received.values())  # one each, not four
    message = received["nahoi@bacha.example"][0]
    assert message["Subject"] == f"Giấy mời các cuộc họp trực tuyến hằng tuần: {MEETING['title']}"
    calendar = calendar_of(message)
    (rule,), overrides = events(calendar)
    assert overrides == []
    assert rule["RRULE"]["FREQ"] == ["WEEKLY"] and rule["RRULE"]["COUNT"] == [4]
    assert rule.decoded("dtstart") == FIRST
    exdates = [d.dt for d in rule["EXDATE"].dts] if not isinstance(rule["EXDATE"], list) else [
        d.dt for e in rule["EXDATE"] for d in e.dts]  # fmt: skip
    assert exdates == [FIRST + timedelta(weeks=1)]  # the cancelled second meeting
    (link,) = links_in(message)
    rows = [(await (await client.get(f"/api/meetings/{o['id']}/invitations")).json())["invitations"]
            for o in (occurrences[0], occurrences[2])]  # fmt: skip
    assert {row["join_url"] for r in rows for row in r if row["unit"] == "bh.nh"} == {link}  # one link for all

    # Pressing again sends nothing; moving the third and fourth ("this and following") sends the update.
    await send_series(client, series_id)
    assert len(inbox.messages) == len(ADDRESSES)
    moved = await client.patch(f"/api/meetings/{occurrences[2]['id']}?scope=following", headers={"X-CSRF-Token": token},
                               json={"starts_at": "2026-12-14T09:00", "ends_at": "2026-12-14T11:30"})  # fmt: skip
    assert moved.status == 200, await moved.text()
    await inbox.wait_for(2 * len(ADDRESSES))
    update = inbox.by_recipient()["nahoi@bacha.example"][1]
    assert update["Subject"] == f"Thay đổi: các cuộc họp hằng tuần {MEETING['title']}"
    (rule,), overrides = events(calendar_of(update))
    assert rule.decoded("dtstart") == FIRST and rule["RRULE"]["COUNT"] == [4]
    assert sorted((o.decoded("recurrence-id"), o.decoded("dtstart")) for o in overrides) == [
        (FIRST + timedelta(weeks=2), FIRST + timedelta(weeks=2, hours=1)),
        (FIRST + timedelta(weeks=3), FIRST + timedelta(weeks=3, hours=1))]  # fmt: skip
    assert links_in(update) == {link}
    assert single["id"] not in {o["id"] for o in occurrences}


async def test_this_and_following_moves_and_cancels_the_rest_of_the_series(client_with, smtp_port) -> None:  # type: ignore[no-untyped-def]
    client, token, _ = await mailing_client(client_with, smtp_port)
    occurrences = await plan_series(client, token)
    page = await (await client.get(f"/meetings/{occurrences[2]['id']}/edit")).text()
    assert 'data-testid="scope-following"' in page
    csrf = await signed_in(client, "host")
    form = {"csrf_token": csrf, "title": "Giao ban tuần – sau điều chỉnh", "date": "2026-12-15", "start": "14:00",
            "end": "16:00", "chair_unit": "lc", "invited_units": ["bh", "bh.nh"], "scope": "following"}  # fmt: skip
    edited = await client.post(f"/meetings/{occurrences[2]['id']}/edit", data=form, allow_redirects=False)
    assert edited.status == 303, await edited.text()
    after = [await client.app[MEETINGS].get(o["id"]) for o in occurrences]
    starts = [m.starts_at.astimezone(VIETNAM) for m in after]
    assert starts[:2] == [FIRST, FIRST + timedelta(weeks=1)]  # before it: unchanged
    # a day and six hours later, each of the following
    assert starts[2:] == [FIRST + timedelta(weeks=2, days=1, hours=6), FIRST + timedelta(weeks=3, days=1, hours=6)]
    assert {m.title for m in after[2:]} == {"Giao ban tuần – sau điều chỉnh"} and after[0].title == MEETING["title"]
    assert after[3].invited_units == ("bh", "bh.nh") and after[1].invited_units == tuple(MEETING["invited_units"])

    cancelled = await client.delete(f"/api/meetings/{occurrences[1]['id']}?scope=following",
                                    headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert cancelled.status == 200
    assert [(await client.app[MEETINGS].get(o["id"])).cancelled for o in occurrences] == [False, True, True, True]
    bad = await client.delete(f"/api/meetings/{occurrences[0]['id']}?scope=everything", headers={"X-CSRF-Token": csrf})
    assert bad.status == 400


async def test_a_units_one_link_opens_each_occurrence_in_its_window_and_not_between(client_with, smtp_port) -> None:  # type: ignore[no-untyped-def]
    client, token, _ = await mailing_client(client_with, smtp_port)
    occurrences = await plan_series(client, token)
    rows = (await (await client.get(f"/api/meetings/{occurrences[0]['id']}/invitations")).json())["invitations"]
    link = next(row["join_url"] for row in rows if row["unit"] == "bh.nh")
    path, link_token = link.removeprefix("http://giaoban.laocai.example"), link.rsplit("/", 1)[1]

    async def opens(moment: datetime) -> str | None:
        """Which meeting the link joins at ``moment`` (None: refused), and the page agrees."""
        client.app[CLOCK].set(moment)
        page = await (await client.get(path)).text()
        ws = await client.ws_connect("/ws")
        await ws.send_json({"type": "join", "token": link_token, "name": "Vàng Seo Phủ"})
        reply = await next_of(ws, "welcome") if 'data-testid="join-card"' in page else None
        if reply is None:
            await next_of(ws, "error")
            assert await closed(ws) == 4003
            assert 'data-testid="check-early"' in page  # between meetings: the next one's technical check
            return None
        await ws.close()
        return str(reply["meeting"]["id"])

    assert await opens(FIRST - timedelta(minutes=10)) == occurrences[0]["id"]
    assert await opens(FIRST + timedelta(days=3)) is None
    assert await opens(FIRST + timedelta(weeks=2, minutes=5)) == occurrences[2]["id"]
    assert await opens(FIRST + timedelta(weeks=2, days=2)) is None
