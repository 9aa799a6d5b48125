"""Which recordings each meeting has, in Redis. The files themselves live on disk, under one directory.

A recording's id is a random token: it names the file in download links, so links cannot be guessed.

Key layout:
- ``RECORDING_KEY.format(id)`` (string): the recording as JSON.
- ``BY_MEETING_KEY.format(meeting)`` (sorted set): its recordings' ids scored by start (Unix seconds).
- ``BY_START_KEY`` (sorted set): every recording's id scored by start, for retention.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from scheduler.errors import NotFound

RECORDING_KEY = "giaoban:recording:{}"
BY_MEETING_KEY = "giaoban:recordings:by-meeting:{}"
BY_START_KEY = "giaoban:recordings:by-start"
KINDS = ("track", "program")
STATUSES = ("ready", "queued", "composing", "failed")
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def new_recording_id() -> str:
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class Recording:
    id: str
    meeting_id: str
    session: str  # one start-to-stop: its tracks and its program share it
    kind: str  # "track" or "program"
    unit: str  # whose track; the chair's unit for the program
    track: str  # "audio" or "video" for tracks, "program" for the program
    started_at: datetime
    duration_seconds: float
    bytes: int
    status: str
    file: str  # path under the recordings directory
    progress: float = 0.0  # of a program being composed, 0..1
    problem: str = ""  # why it failed, for people

    def public_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "unit": self.unit, "track": self.track,
                "started_at": self.started_at.isoformat(), "duration_seconds": round(self.duration_seconds, 3),
                "bytes": self.bytes, "status": self.status, "progress": round(self.progress, 3),
                "problem": self.problem}  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "started_at": self.started_at.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Recording:
        return cls(**{**data, "started_at": datetime.fromisoformat(data["started_at"])})


class RecordingCatalogue:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def add(self, *recordings: Recording) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            for recording in recordings:
                score = recording.started_at.timestamp()
                pipe.set(RECORDING_KEY.format(recording.id), json.dumps(recording.to_json(), ensure_ascii=False))
                pipe.zadd(BY_MEETING_KEY.format(recording.meeting_id), {recording.id: score})
                pipe.zadd(BY_START_KEY, {recording.id: score})
            await pipe.execute()

    async def get(self, recording_id: str) -> Recording:
        raw = await self._redis.get(RECORDING_KEY.format(recording_id)) if _ID.match(recording_id) else None
        if raw is None:
            raise NotFound("No such recording")
        return Recording.from_json(json.loads(raw))

    async def update(self, recording_id: str, **changes: Any) -> Recording:
        """Change a few fields. One writer per recording (its recorder, then its program job), so no lock."""
        recording = replace(await self.get(recording_id), **changes)
        await self._redis.set(RECORDING_KEY.format(recording.id), json.dumps(recording.to_json(), ensure_ascii=False))
        return recording

    async def of_meeting(self, meeting_id: str) -> list[Recording]:
        return await self._load(await self._redis.zrange(BY_MEETING_KEY.format(meeting_id), 0, -1))

    async def started_before(self, moment: datetime) -> list[Recording]:
        return await self._load(await self._redis.zrangebyscore(BY_START_KEY, "-inf", f"({moment.timestamp()}"))

    async def remove(self, recording: Recording) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(RECORDING_KEY.format(recording.id))
            pipe.zrem(BY_MEETING_KEY.format(recording.meeting_id), recording.id)
            pipe.zrem(BY_START_KEY, recording.id)
            await pipe.execute()

    async def _load(self, ids: list[str]) -> list[Recording]:
        if not ids:
            return []
        raws = await self._redis.mget([RECORDING_KEY.format(i) for i in ids])
        return [Recording.from_json(json.loads(raw)) for raw in raws if raw is not None]
