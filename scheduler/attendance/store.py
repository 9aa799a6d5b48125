"""The attendance log in Redis: one append-only Stream per meeting.

Key layout:
- ``STREAM_KEY.format(meeting_id)`` (stream): one entry per event with one field, ``e``: the event as JSON (the
  fields of ``AttendanceEvent``, ``at`` in ISO 8601). One field rather than seven: a year of reports reads
  every entry, and each field costs as much to parse as the JSON. Entries are never changed or deleted.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

from redis.asyncio import Redis

from scheduler.attendance.events import AttendanceEvent

STREAM_KEY = "giaoban:meeting:{}:attendance"
READ_BATCH = 5000


class RedisAttendanceLog:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def append(self, meeting_id: str, event: AttendanceEvent) -> None:
        encoded = json.dumps({**dataclasses.asdict(event), "at": event.at.isoformat()}, ensure_ascii=False)
        await self._redis.xadd(STREAM_KEY.format(meeting_id), {"e": encoded})

    async def events(self, meeting_id: str) -> list[AttendanceEvent]:
        events: list[AttendanceEvent] = []
        start = "-"
        while True:
            batch = await self._redis.xrange(STREAM_KEY.format(meeting_id), min=start, count=READ_BATCH)
            events.extend(_decode(fields["e"]) for _, fields in batch)
            if len(batch) < READ_BATCH:
                return events
            start = "(" + batch[-1][0]


def _decode(encoded: str) -> AttendanceEvent:
    data = json.loads(encoded)
    data["at"] = datetime.fromisoformat(data["at"])
    return AttendanceEvent(**data)
