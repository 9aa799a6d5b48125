"""Attendance is the record a secretary must later prove: a store that refuses writes for a while delays it and
loses nothing. The refusal is real: Valkey told to accept writes only with a replica, which it does not have."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.conftest import Client
from tests.service.conftest import LiveMeeting, joined
from web.keys import ATTENDANCE, CLOCK, STORE

OUTAGE_SECONDS = 9  # longer than the five attempts (7.5 s) after which the writer used to drop an event


async def test_attendance_waits_out_a_store_that_refuses_writes(client: Client, live: LiveMeeting) -> None:
    redis = client.app[STORE].redis
    await redis.config_set("min-replicas-to-write", 1)
    try:
        ws = await joined(client, live, "bac-ha.na-hoi")  # joining only reads; its event waits for the store
        clock = client.app[CLOCK]
        clock.set(clock.now() + timedelta(minutes=2))  # the drop comes later in the meeting
        await asyncio.sleep(OUTAGE_SECONDS)  # nobody reads the socket either: it is dropped as silent meanwhile
        assert await client.app[ATTENDANCE].events(live.id) == []  # reads work, writes are refused
        await ws.close()
    finally:
        await redis.config_set("min-replicas-to-write", 0)
    async with asyncio.timeout(15):
        while len(events := await client.app[ATTENDANCE].events(live.id)) < 2:
            await asyncio.sleep(0.2)
    assert [(e.type, e.unit) for e in events] == [("joined", "bac-ha.na-hoi"), ("dropped", "bac-ha.na-hoi")]
    assert events[1].at - events[0].at == timedelta(minutes=2)  # stamped when they happened, not when written
