"""Meetings in Redis.

Key layout:
- ``MEETING_KEY.format(id)`` (string): the meeting as JSON.
- ``BY_START_KEY`` (sorted set): meeting id scored by its start (Unix seconds), for calendar ranges.
- ``SERIES_KEY.format(series_id)`` (sorted set): the occurrences of a weekly series, scored by their place in it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import WatchError

from scheduler.errors import NotFound
from scheduler.meetings.model import Meeting

MEETING_KEY = "giaoban:meeting:{}"
BY_START_KEY = "giaoban:meetings:by-start"
SERIES_KEY = "giaoban:series:{}"


class MeetingStore(Protocol):
    async def add(self, meetings: Iterable[Meeting]) -> None: ...

    async def get(self, meeting_id: str) -> Meeting: ...

    async def between(self, start: datetime, end: datetime) -> list[Meeting]: ...

    async def series(self, series_id: str) -> list[Meeting]: ...

    async def update(self, meeting_id: str, change: Callable[[Meeting], Meeting]) -> Meeting: ...


class RedisMeetingStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def add(self, meetings: Iterable[Meeting]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            for meeting in meetings:
                pipe.set(MEETING_KEY.format(meeting.id), _encode(meeting))
                pipe.zadd(BY_START_KEY, {meeting.id: meeting.starts_at.timestamp()})
                if meeting.series_id:
                    pipe.zadd(SERIES_KEY.format(meeting.series_id), {meeting.id: meeting.series_place.timestamp()})
            await pipe.execute()

    async def series(self, series_id: str) -> list[Meeting]:
        """Every occurrence of a weekly series, in the rule's order (an empty list for an unknown series)."""
        if not _plausible_id(series_id):
            return []
        ids = await self._redis.zrange(SERIES_KEY.format(series_id), 0, -1)
        raws = await self._redis.mget([MEETING_KEY.format(i) for i in ids]) if ids else []
        return [Meeting.from_json(json.loads(raw)) for raw in raws if raw is not None]

    async def get(self, meeting_id: str) -> Meeting:
        raw = await self._redis.get(MEETING_KEY.format(meeting_id)) if _plausible_id(meeting_id) else None
        if raw is None:
            raise NotFound("No meeting {id}", id=meeting_id)
        return Meeting.from_json(json.loads(raw))

    async def between(self, start: datetime, end: datetime) -> list[Meeting]:
        ids = await self._redis.zrangebyscore(BY_START_KEY, start.timestamp(), end.timestamp())
        if not ids:
            return []
        raws = await self._redis.mget([MEETING_KEY.format(i) for i in ids])
        return [Meeting.from_json(json.loads(raw)) for raw in raws if raw is not None]

    async def update(self, meeting_id: str, change: Callable[[Meeting], Meeting]) -> Meeting:
        """Read, change and write one meeting; a concurrent change makes us start again from theirs."""
        key = MEETING_KEY.format(meeting_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key) if _plausible_id(meeting_id) else None
                    if raw is None:
                        raise NotFound("No meeting {id}", id=meeting_id)
                    updated = change(Meeting.from_json(json.loads(raw)))
                    pipe.multi()
                    pipe.set(key, _encode(updated))
                    pipe.zadd(BY_START_KEY, {updated.id: updated.starts_at.timestamp()})
                    await pipe.execute()
                    return updated
                except WatchError:
                    continue


def _encode(meeting: Meeting) -> str:
    return json.dumps(meeting.to_json(), ensure_ascii=False)


def _plausible_id(meeting_id: str) -> bool:
    return 0 < len(meeting_id) <= 64 and meeting_id.replace("-", "").replace("_", "").isalnum()
