"""A supervised test session (phiên thử) through real sockets: opened by the host before the room opens, the chair
and a unit join and use the console, nothing is recorded, and closing it (from the console or the meeting page)
puts everyone out until the meeting's own room opens."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aiohttp import ClientWebSocketResponse

from tests.conftest import Client, signed_in
from tests.service.conftest import LIVE_INVITED, START, LiveMeeting, closed, joined, next_of, plan_live_meeting
from web.keys import ATTENDANCE, CLOCK, MEETINGS

COMMUNE = LIVE_INVITED[0]


async def set_test_session(client: Client, meeting_id: str, on: bool) -> None:
    csrf = await signed_in(client, "host")
    form = {"csrf_token": csrf, "on": "1" if on else "0"}
    response = await client.post(f"/meetings/{meeting_id}/test-session", data=form, allow_redirects=False)
    assert response.status == 303, await response.text()


async def refused(client: Client, live: LiveMeeting, unit: str) -> str:
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "join", "token": live.tokens[unit], "name": "Lý Thị Hoa"})
    error = await next_of(ws, "error")
    assert await closed(ws) == 4003
    return str(error["message"])


async def test_a_test_session_lets_units_in_early_and_records_nothing(client: Client) -> None:
    live = await plan_live_meeting(client)
    client.app[CLOCK].set(START - timedelta(hours=2))  # the room opens 30 minutes before the start
    assert "07:30" in await refused(client, live, COMMUNE)

    assert 'data-testid="open-test-session"' in await (await client.get(f"/meetings/{live.id}")).text()
    await set_test_session(client, live.id, True)
    host_page = await (await client.get(f"/meetings/{live.id}")).text()
    assert 'data-testid="test-session-open"' in host_page and 'data-testid="close-test-session"' in host_page
    page = await (await client.get(f"/j/{live.tokens[COMMUNE]}")).text()
    assert 'data-testid="test-session-banner"' in page and 'data-testid="join-card"' in page
    chair = await joined(client, live, "laocai", "Nguyễn Văn Hải")
    commune = await joined(client, live, COMMUNE)
    console = await next_of(chair, "console")
    while console["counts"]["connected"] < 1:
        console = await next_of(chair, "console")
    assert next(e for e in console["endpoints"] if e["unit"] == COMMUNE)["state"] == "connected"
    await chair.send_json({"type": "record", "on": True})
    error = await next_of(chair, "error")
    assert (error["request"], error["message"]) == ("record", "Phiên thử không ghi hình, không ghi điểm danh")

    await chair.send_json({"type": "end"})
    assert await closed(commune) == 1012  # pages come back by themselves, and find the room not open yet
    assert await closed(chair) == 1012
    await asyncio.sleep(0.3)  # the attendance writer would have written by now
    assert await client.app[ATTENDANCE].events(live.id) == []
    meeting = await client.app[MEETINGS].get(live.id)
    assert (meeting.test_session, meeting.live_state, meeting.held_from) == (False, None, None)
    await refused(client, live, COMMUNE)


async def commune_in_a_test_session(client: Client) -> tuple[LiveMeeting, ClientWebSocketResponse]:
    """Two hours before the start (the room opens 30 minutes before it), a test session open and a commune in it."""
    live = await plan_live_meeting(client)
    client.app[CLOCK].set(START - timedelta(hours=2))
    await set_test_session(client, live.id, True)
    return live, await joined(client, live, COMMUNE)


async def test_the_host_closes_the_test_session_from_the_meeting_page(client: Client) -> None:
    live, commune = await commune_in_a_test_session(client)
    await set_test_session(client, live.id, False)
    assert await closed(commune) == 1012  # within the origin's next look (every 2 s)
    await refused(client, live, COMMUNE)


async def test_the_real_room_is_not_a_test_session(client: Client) -> None:
    """A test session left open ends when the meeting's own room opens: from then on everything is recorded."""
    live, commune = await commune_in_a_test_session(client)
    client.app[CLOCK].set(START - timedelta(minutes=10))  # the lobby is open
    assert await closed(commune) == 1012
    again = await joined(client, live, COMMUNE)
    await asyncio.sleep(0.3)
    assert [event.type for event in await client.app[ATTENDANCE].events(live.id)] == ["joined"]
    await again.close()
