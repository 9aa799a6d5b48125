"""The queue of program videos to compose, in Redis, so that a restart never loses one.

A worker claims a job under a lease and renews it while it works. A worker that stops cleanly puts its job back at
the front; one that dies simply stops renewing, and the next claim (on any node) takes the job again once the lease
has run out. Composition starts from the track files each time, so doing a job twice is harmless.

Key layout:
- ``PENDING_KEY`` (list): recording ids of programs waiting, oldest first.
- ``LEASES_KEY`` (sorted set): recording id → when its worker's lease runs out (Unix seconds).
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

PENDING_KEY = "giaoban:program-jobs:pending"
LEASES_KEY = "giaoban:program-jobs:leases"
LEASE_SECONDS = 20.0

# Jobs whose worker is gone go back first; then the oldest waiting job is taken.
_CLAIM = """
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('LPUSH', KEYS[1], id)
end
local id = redis.call('LPOP', KEYS[1])
if not id then return false end
redis.call('ZADD', KEYS[2], ARGV[2], id)
return id
"""


class ProgramJobs:
    def __init__(self, redis: Redis, *, lease_seconds: float = LEASE_SECONDS) -> None:
        self._redis = redis
        self.lease_seconds = lease_seconds
        self._claim = redis.register_script(_CLAIM)

    async def enqueue(self, recording_id: str) -> None:
        await self._redis.rpush(PENDING_KEY, recording_id)

    async def claim(self) -> str | None:
        now = time.time()
        job = await self._claim(keys=[PENDING_KEY, LEASES_KEY], args=[now, now + self.lease_seconds])
        return job or None

    async def renew(self, recording_id: str) -> None:
        await self._redis.zadd(LEASES_KEY, {recording_id: time.time() + self.lease_seconds}, xx=True)

    async def done(self, recording_id: str) -> None:
        await self._redis.zrem(LEASES_KEY, recording_id)

    async def give_back(self, recording_id: str) -> None:
        """A clean stop: the job goes back to the front of the queue at once."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(LEASES_KEY, recording_id)
            pipe.lpush(PENDING_KEY, recording_id)
            await pipe.execute()

    async def waiting(self) -> list[str]:
        return list(await self._redis.lrange(PENDING_KEY, 0, -1))
