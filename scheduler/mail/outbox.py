"""The mail outbox in Redis: nothing lost when SMTP is down, nothing queued twice, any number of senders.

A job is keyed by what it is for (``invitation:<meeting>:<unit>:<address>:<sequence>``), so asking twice for the
same e-mail creates it once. Senders claim a due job atomically and hold it under a lease; a sender that dies
mid-send loses the lease and the job comes back. A failure is retried with exponential backoff, then given up
and shown as failed. Delivery is at least once: only a crash between the SMTP server's "250 OK" and our record
of it could send a message twice, and every copy then carries the same Message-ID.

Key layout:
- ``JOB_KEY.format(id)`` (hash): ``to``, ``kind``, ``meeting``, ``unit``, ``version`` (the meeting's sequence
  it was composed for), ``status``, ``attempts``,
  ``last_error``, ``created_at``, ``sent_at``, ``message`` (the RFC 5322 text).
- ``DUE_KEY`` (sorted set): job id → when it may next be tried (Unix seconds).
- ``LEASES_KEY`` (sorted set): job id → when the sender's claim runs out.
- ``BY_MEETING_KEY.format(meeting)`` (set): the jobs of a meeting, for its status table.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from redis.asyncio import Redis

JOB_KEY = "giaoban:mail:{}"
DUE_KEY = "giaoban:mail:due"
LEASES_KEY = "giaoban:mail:leases"
BY_MEETING_KEY = "giaoban:mail:by-meeting:{}"
STATUS_FIELDS = ("to", "kind", "meeting", "unit", "version", "status", "attempts", "last_error", "sent_at")
STATUSES = ("queued", "sending", "sent", "retrying", "failed")
MAX_ATTEMPTS = 8
FIRST_RETRY_SECONDS = 30.0
LONGEST_RETRY_SECONDS = 3600.0
LEASE_SECONDS = 120.0  # longer than an SMTP conversation may take (see sender timeout)

_ENQUEUE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('ZADD', KEYS[2], ARGV[1], KEYS[4])
redis.call('SADD', KEYS[3], KEYS[4])
return 1
"""
# Expired leases go back to the due set first: their sender is gone.
_CLAIM = """
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], ARGV[1], id)
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if #ids == 0 then return false end
redis.call('ZREM', KEYS[1], ids[1])
redis.call('ZADD', KEYS[2], ARGV[2], ids[1])
redis.call('HSET', ARGV[3] .. ids[1], 'status', 'sending')
return ids[1]
"""


@dataclass(frozen=True)
class MailJob:
    id: str
    to: str
    kind: str
    meeting: str
    unit: str
    version: int
    status: str
    attempts: int
    last_error: str
    sent_at: float | None
    message: str

    @classmethod
    def from_hash(cls, job_id: str, data: Mapping[str, str]) -> MailJob:
        return cls(job_id, data["to"], data["kind"], data["meeting"], data["unit"], int(data.get("version", 0)),
                   data["status"],
                   int(data.get("attempts", 0)), data.get("last_error", ""),
                   float(data["sent_at"]) if data.get("sent_at") else None, data.get("message", ""))  # fmt: skip


class Outbox:
    def __init__(self, redis: Redis, *, first_retry_seconds: float = FIRST_RETRY_SECONDS) -> None:
        self._redis = redis
        self._first_retry = first_retry_seconds
        self._enqueue = redis.register_script(_ENQUEUE)
        self._claim = redis.register_script(_CLAIM)

    async def enqueue(self, job_id: str, *, to: str, kind: str, meeting: str, unit: str, message: str,
                      version: int = 0, due: float | None = None) -> bool:  # fmt: skip
        """Queue a message unless a job with this id exists already. True if it was queued now."""
        now = time.time()
        fields = {"to": to, "kind": kind, "meeting": meeting, "unit": unit, "version": version, "status": "queued",
                  "attempts": 0,
                  "last_error": "", "created_at": now, "message": message}  # fmt: skip
        flat = [str(item) for pair in fields.items() for item in pair]
        keys = [JOB_KEY.format(job_id), DUE_KEY, BY_MEETING_KEY.format(meeting), job_id]
        return bool(await self._enqueue(keys=keys, args=[due if due is not None else now, *flat]))

    async def claim(self, now: float | None = None) -> MailJob | None:
        now = time.time() if now is None else now
        job_id = await self._claim(keys=[DUE_KEY, LEASES_KEY], args=[now, now + LEASE_SECONDS, JOB_KEY.format("")])
        if not job_id:
            return None
        return MailJob.from_hash(job_id, await self._redis.hgetall(JOB_KEY.format(job_id)))

    async def delivered(self, job: MailJob) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(LEASES_KEY, job.id)
            pipe.hset(JOB_KEY.format(job.id), mapping={"status": "sent", "sent_at": time.time(),
                                                       "attempts": job.attempts + 1, "last_error": ""})  # fmt: skip
            await pipe.execute()

    async def failed(self, job: MailJob, error: str, *, permanent: bool = False) -> None:
        attempts = job.attempts + 1
        give_up = permanent or attempts >= MAX_ATTEMPTS
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(LEASES_KEY, job.id)
            pipe.hset(JOB_KEY.format(job.id), mapping={"status": "failed" if give_up else "retrying",
                                                       "attempts": attempts, "last_error": error[:500]})  # fmt: skip
            if not give_up:
                pipe.zadd(DUE_KEY, {job.id: time.time() + self.retry_delay(attempts)})
            await pipe.execute()

    def retry_delay(self, attempts: int) -> float:
        return float(min(self._first_retry * 2 ** (attempts - 1), LONGEST_RETRY_SECONDS))

    async def jobs_of(self, meeting_id: str) -> list[MailJob]:
        """The jobs of a meeting for status display: every field but the message itself (kilobytes each)."""
        ids = sorted(await self._redis.smembers(BY_MEETING_KEY.format(meeting_id)))
        async with self._redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hmget(JOB_KEY.format(job_id), STATUS_FIELDS)
            values = await pipe.execute()
        hashes = [{k: v for k, v in zip(STATUS_FIELDS, row, strict=True) if v is not None} for row in values]
        return [MailJob.from_hash(job_id, data) for job_id, data in zip(ids, hashes, strict=True) if data]

    async def has_jobs(self, meeting_id: str) -> bool:
        return bool(await self._redis.scard(BY_MEETING_KEY.format(meeting_id)))

    async def next_due_in(self, now: float | None = None) -> float | None:
        """Seconds until the next job is due (0 if one is due now), None when nothing waits."""
        now = time.time() if now is None else now
        first = await self._redis.zrange(DUE_KEY, 0, 0, withscores=True)
        leases = await self._redis.zrange(LEASES_KEY, 0, 0, withscores=True)
        moments = [score for _, score in first + leases]
        return max(0.0, min(moments) - now) if moments else None
