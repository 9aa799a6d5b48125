"""The /ws signaling endpoint on a real app and store: joining by link, controls, errors, attendance."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from aiohttp import ClientWebSocketResponse

from signaling.connection import OUTBOUND_LIMIT
from tests.conftest import Client, signed_in
from tests.service.conftest import START, LiveMeeting, closed, joined, media_joined, next_of
from web.bench.clips import audio_clip, video_clip
from web.bench.endpoint import SyntheticEndpoint
from web.keys import ATTENDANCE, CLOCK, INVITATIONS, LIVE, MEETINGS


async def attendance_of(client: Client, meeting_id: str, wanted: int) -> list[tuple[str, str]]:
    for _ in range(50):
        events = await client.app[ATTENDANCE].events(meeting_id)
        if len(events) >= wanted:
            break
        await asyncio.sleep(0.05)
    return [(e.type, e.unit) for e in events]


async def test_bad_messages_are_answered_and_the_connection_stays(client: Client, live: LiveMeeting) -> None:
    ws = await client.ws_connect("/ws")
    for bad, code in [("{not json", "malformed_input"), ('{"type": "dance"}', "protocol_error"),
                      ('["join"]', "malformed_input"), ('{"type": "join", "token": 5, "name": "A"}', "malformed_input"),
                      ('{"type": "raise-hand"}', "protocol_error")]:  # fmt: skip
        await ws.send_str(bad)
        assert (await next_of(ws, "error"))["code"] == code
    await ws.send_bytes(b"\x00\x01")
    assert (await next_of(ws, "error"))["code"] == "protocol_error"
    await ws.send_json({"type": "ping"})
    assert await next_of(ws, "pong") == {"type": "pong"}
    await ws.close()


async def test_an_oversized_message_closes_the_connection(client: Client, live: LiveMeeting) -> None:
    ws = await client.ws_connect("/ws")
    await ws.send_str(json.dumps({"type": "ping", "pad": "x" * 70_000}))
    assert await closed(ws) == 1009  # "message too big"
    again = await client.ws_connect("/ws")  # the server is fine
    await again.send_json({"type": "ping"})
    assert (await next_of(again, "pong"))["type"] == "pong"
    await again.close()


@pytest.mark.parametrize("spoil", ["garbage", "regenerated", "after"])
async def test_unusable_links_are_refused_with_a_reason(client: Client, live: LiveMeeting, spoil: str) -> None:
    token = live.tokens["sa-pa"]
    if spoil == "garbage":
        token = "not-a-token"
    elif spoil == "regenerated":
        meeting = await client.app[MEETINGS].get(live.id)
        await client.app[INVITATIONS].links.regenerate(meeting, "sa-pa")
    else:
        client.app[CLOCK].set(START + timedelta(hours=5))
    ws = await client.ws_connect("/ws", headers={"Cookie": "giaoban_lang=en"})
    await ws.send_json({"type": "join", "token": token, "name": "Đặng Quốc Việt"})
    error = await next_of(ws, "error")
    assert error["code"] == "not_authorised" and error["message"]
    assert await closed(ws) == 4003


async def test_a_name_is_required(client: Client, live: LiveMeeting) -> None:
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "join", "token": live.tokens["sa-pa"], "name": "   "})
    assert (await next_of(ws, "error"))["code"] == "invalid_input"
    await ws.close()


async def test_chair_controls_reach_participants_and_attendance(client: Client, live: LiveMeeting) -> None:
    commune = await joined(client, live, "bac-ha.na-hoi", "Vàng Seo Phủ")
    assert (await next_of(commune, "state"))["admitted"] is False  # the lobby
    chair = await joined(client, live, "laocai", "Nguyễn Văn Hải")
    assert (await next_of(commune, "state"))["admitted"] is True
    async with asyncio.timeout(5):  # written to the store just after the room admits everyone
        while (await client.app[MEETINGS].get(live.id)).live_state != "live":
            await asyncio.sleep(0.02)
    district = await joined(client, live, "bac-ha")

    await commune.send_json({"type": "raise-hand"})
    while (await next_of(chair, "state"))["hands"] != ["bac-ha.na-hoi"]:
        pass
    await chair.send_json({"type": "give-floor", "unit": "bac-ha.na-hoi"})
    while (await next_of(district, "state"))["floor"] != ["bac-ha.na-hoi"]:
        pass
    await chair.send_json({"type": "roll-call"})
    roll_call = await next_of(district, "roll-call")
    await district.send_json({"type": "roll-call-answer", "id": roll_call["id"]})
    await commune.send_json({"type": "give-floor", "unit": "bac-ha"})  # not the chair
    assert (await next_of(commune, "error"))["code"] == "not_authorised"

    await district.send_json({"type": "leave"})
    assert await closed(district) == 1000
    await commune.close()  # a closed tab: no goodbye
    events = await attendance_of(client, live.id, 8)
    assert ("left", "bac-ha") in events and ("dropped", "bac-ha.na-hoi") in events
    assert ("floor_granted", "bac-ha.na-hoi") in events and ("roll_call_answered", "bac-ha") in events
    console = await next_of(chair, "console")
    while {e["unit"]: e["state"] for e in console["endpoints"]}["bac-ha.na-hoi"] != "dropped":
        console = await next_of(chair, "console")
    await chair.close()


async def test_kick_closes_with_a_reason_and_end_stops_the_links(client: Client, live: LiveMeeting) -> None:
    chair = await joined(client, live, "laocai")
    commune = await joined(client, live, "sa-pa")
    await chair.send_json({"type": "kick", "unit": "sa-pa"})
    assert (await next_of(commune, "bye"))["reason"] == "kicked"
    assert await closed(commune) == 4004
    again = await client.ws_connect("/ws")  # its link reloaded: it stays out, and is told why
    await again.send_json({"type": "join", "token": live.tokens["sa-pa"], "name": "Lý Thị Hoa"})
    refused = await next_of(again, "error")
    assert refused["code"] == "not_authorised" and "Chủ trì" in refused["message"]
    assert await closed(again) == 4004
    await chair.send_json({"type": "let-back", "unit": "sa-pa"})
    await asyncio.sleep(0.1)
    back = await joined(client, live, "sa-pa")  # let back by the chair
    await chair.send_json({"type": "end"})
    assert (await next_of(back, "bye"))["reason"] == "ended"
    assert await closed(back) == 4005
    assert (await client.app[MEETINGS].get(live.id)).live_state == "ended"
    late = await client.ws_connect("/ws")
    await late.send_json({"type": "join", "token": live.tokens["bac-ha"], "name": "Lý Thị Hoa"})
    assert (await next_of(late, "error"))["code"] == "not_authorised"


async def test_a_meeting_the_chair_ends_early_is_recorded_as_held(client: Client, live: LiveMeeting) -> None:
    clock = client.app[CLOCK]
    chair = await joined(client, live, "laocai", "Nguyễn Văn Hải")
    commune = await joined(client, live, "sa-pa")
    opened = clock.now()
    clock.set(opened + timedelta(minutes=50))  # the agenda is done 70 minutes before the planned end
    await chair.send_json({"type": "end"})
    assert (await next_of(commune, "bye"))["reason"] == "ended"
    meeting = await client.app[MEETINGS].get(live.id)
    assert meeting.held_from == opened and meeting.held_until == opened + timedelta(minutes=50)
    await signed_in(client, "secretary")
    async with asyncio.timeout(5):  # the attendance writer has the leaves in a moment
        while True:
            report = await (await client.get(f"/api/meetings/{live.id}/attendance")).json()
            rows = {row["unit"]: row for row in report["units"]}
            if rows["laocai"]["last_leave"] and rows["sa-pa"]["last_leave"]:
                break
            await asyncio.sleep(0.05)
    assert rows["laocai"]["status"] == "present" and rows["sa-pa"]["status"] == "present"  # not "left early"
    assert report["meeting"]["held_until"].endswith("+07:00")


async def test_media_negotiated_over_the_socket_carries_the_chairs_picture(client: Client, live: LiveMeeting) -> None:
    clips = {"audio": audio_clip(), "video": video_clip(seconds=2, keyframe_every=30),
             "video-medium": video_clip(width=240, height=180, seconds=2, keyframe_every=30),
             "video-small": video_clip(width=160, height=120, seconds=2, keyframe_every=30)}  # fmt: skip
    endpoints: list[SyntheticEndpoint] = []

    async def connect(unit: str) -> tuple[ClientWebSocketResponse, SyntheticEndpoint]:
        return await media_joined(client, live, unit, clips, endpoints)

    try:
        await connect("laocai")
        _, viewer = await connect("sa-pa")
        await asyncio.sleep(2)
        assert viewer.received["chair-video"] > 20 and viewer.keyframes["chair-video"] >= 1
        assert viewer.received["chair-audio"] > 40
        metrics = await (await client.get("/metrics")).text()
        assert "giaoban_relay_packets_forwarded_total" in metrics
    finally:
        for endpoint in endpoints:
            await endpoint.close()


async def test_a_silent_client_is_dropped_within_fifteen_seconds(client: Client, live: LiveMeeting) -> None:
    chair = await joined(client, live, "laocai")
    silent = await client.ws_connect("/ws", autoping=False)  # will not answer the server's pings
    await silent.send_json({"type": "join", "token": live.tokens["sa-pa"], "name": "Đặng Quốc Việt"})
    await next_of(silent, "welcome")
    started = asyncio.get_running_loop().time()
    console = await next_of(chair, "console", timeout=18)
    while {e["unit"]: e["state"] for e in console["endpoints"]}["sa-pa"] != "dropped":
        console = await next_of(chair, "console", timeout=18)
    assert asyncio.get_running_loop().time() - started < 16  # ping at 10 s, 5 s for the pong; the console 0.2 s on
    assert ("dropped", "sa-pa") in await attendance_of(client, live.id, 3)
    await chair.close()


async def test_a_reconnect_is_recorded_as_a_drop_and_a_rejoin(client: Client, live: LiveMeeting) -> None:
    await joined(client, live, "laocai")
    first = await joined(client, live, "bac-ha")
    await first.close()
    again = await client.ws_connect("/ws")
    await again.send_json({"type": "join", "token": live.tokens["bac-ha"], "name": "Lý Thị Hoa", "rejoin": True})
    await next_of(again, "welcome")
    events = await attendance_of(client, live.id, 4)
    assert [e for e in events if e[1] == "bac-ha"] == [("joined", "bac-ha"), ("dropped", "bac-ha"),
                                                       ("rejoined", "bac-ha")]  # fmt: skip
    await again.close()


async def test_a_browser_that_does_not_read_never_holds_up_the_room(client: Client, live: LiveMeeting) -> None:
    hub = client.app[LIVE]
    slow = await joined(client, live, "bac-ha.na-hoi")  # from here on it reads nothing
    [member] = [m for m in hub.rooms[live.id].members.values() if m.unit == "bac-ha.na-hoi"]
    connection = hub.connections[member.connection]
    padding = "x" * 16_000
    for n in range(3_000):  # 48 MB: far more than the socket and the kernel take; each call returns at once
        connection.send({"type": "pong", "n": n, "pad": padding})
    await asyncio.sleep(1)  # the writer sends what the socket takes, then waits on it
    assert len(connection._outbound) <= OUTBOUND_LIMIT and connection.dropped_messages > 2_000
    metrics = await (await client.get("/metrics")).text()
    assert f"giaoban_signaling_messages_dropped_total {float(connection.dropped_messages)}" in metrics

    other = await joined(client, live, "sa-pa")  # the room serves everyone else at once meanwhile
    await other.close()
    seen = []  # and when the slow one reads, it gets what was sent first and then the newest, in order
    while not seen or seen[-1] != 2_999:
        message = await next_of(slow, "pong", timeout=10)
        seen.append(message["n"])
    assert seen == sorted(seen) and len(seen) < 1_000
    await slow.close()


async def test_a_page_whose_media_ends_is_told_to_join_again_at_once(client: Client, live: LiveMeeting) -> None:
    """The browser's media connection ends while its socket stays (here it closes DTLS; in the field its ICE
    consent runs out): the relay notices, and the page is told to come back (1012) rather than sit in the room with
    neither picture nor voice until its own ICE gives up."""
    clips = {"audio": audio_clip(), "video": video_clip(seconds=2, keyframe_every=30)}
    endpoints: list[SyntheticEndpoint] = []
    try:
        chair, _ = await media_joined(client, live, "laocai", clips, endpoints)
        ws, commune = await media_joined(client, live, "sa-pa", clips, endpoints)
        await commune.pc.close()
        bye = await next_of(ws, "bye", timeout=5)
        assert bye["reason"] == "media_lost" and await closed(ws) == 1012
        while {e["unit"]: e["state"] for e in (await next_of(chair, "console"))["endpoints"]}["sa-pa"] != "dropped":
            pass  # the chair's console shows it dropped (and back once the page has joined again)
    finally:
        for endpoint in endpoints:
            await endpoint.close()
