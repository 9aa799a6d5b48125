"""The attendance log in Redis: one append-only Stream per meeting.

Key layout:
- ``STREAM_KEY.format(meeting_id)`` (stream): one entry per event, fields as in ``AttendanceEvent`` with ``at``
  in ISO 8601. Entries are never changed or deleted: the record is what happened.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from redis.asyncio import Redis

from scheduler.attendance.events import AttendanceEvent

STREAM_KEY = "giaoban:meeting:{}:attendance"
READ_BATCH = 5000


class RedisAttendanceLog:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def append(self, meeting_id: str, event: AttendanceEvent) -> None:
        fields = {**dataclasses.asdict(event), "at": event.at.isoformat()}
        await self._redis.xadd(STREAM_KEY.format(meeting_id), fields)

    async def events(self, meeting_id: str) -> list[AttendanceEvent]:
        events: list[AttendanceEvent] = []
        start = "-"
        while True:
            batch = await self._redis.xrange(STREAM_KEY.format(meeting_id), min=start, count=READ_BATCH)
            events.extend(
                AttendanceEvent(**{**fields, "at": datetime.fromisoformat(fields["at"])}) for _, fields in batch
            )
            if len(batch) < READ_BATCH:
                return events
            start = "(" + batch[-1][0]
