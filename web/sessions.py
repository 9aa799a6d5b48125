"""Sign-in sessions, CSRF tokens and the sign-in rate limit, kept in Redis.

Key layout:
- ``SESSION_KEY.format(session_id)`` (hash, expires): ``username``, ``role``, ``csrf``.
- ``FAILURES_KEY.format(scope, who)`` (counter, expires): failed sign-ins per username (``user``) and per client
  address (``addr``); wrong meeting codes typed on the home page per address (``code``, web/codes.py).

A session id is 256 random bits in an HttpOnly, SameSite=Lax cookie. Because a cookie travels with requests other
sites make, every state-changing request that relies on it must also carry the session's CSRF token (header
``X-CSRF-Token``, or field ``csrf_token`` in an HTML form); see ``web/auth.py``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from redis.asyncio import Redis

from scheduler.errors import TooManyAttempts
from web.accounts import Account

SESSION_KEY = "giaoban:session:{}"
FAILURES_KEY = "giaoban:login-failures:{}:{}"
# A shared office line puts a whole commune behind one address: allow it more tries than one username gets.
ADDRESS_FAILURE_FACTOR = 4


@dataclass(frozen=True)
class Session:
    id: str
    username: str
    role: str
    csrf: str


class SessionStore:
    def __init__(self, redis: Redis, *, lifetime_seconds: int) -> None:
        self._redis = redis
        self._lifetime = lifetime_seconds

    async def create(self, account: Account) -> Session:
        session = Session(secrets.token_urlsafe(32), account.username, account.role, secrets.token_urlsafe(32))
        key = SESSION_KEY.format(session.id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"username": session.username, "role": session.role, "csrf": session.csrf})
            pipe.expire(key, self._lifetime)
            await pipe.execute()
        return session

    async def get(self, session_id: str) -> Session | None:
        if not session_id or len(session_id) > 64:
            return None
        stored = await self._redis.hgetall(SESSION_KEY.format(session_id))
        if not stored:
            return None
        return Session(session_id, stored["username"], stored["role"], stored["csrf"])

    async def delete(self, session_id: str) -> None:
        await self._redis.delete(SESSION_KEY.format(session_id))


async def refuse_past(redis: Redis, key: str, allowed: int, message: str) -> None:
    """``TooManyAttempts`` (``message`` gets ``{minutes}``) once ``key`` counts ``allowed`` failures."""
    failures = await redis.get(key)
    if failures is not None and int(failures) >= allowed:
        retry_after = max(1, int(await redis.ttl(key)))
        raise TooManyAttempts(message, retry_after_seconds=retry_after, minutes=(retry_after + 59) // 60)


async def count_failure(redis: Redis, keys: list[str], window_seconds: int) -> None:
    """One more failure on each key; a key's window starts at its first failure."""
    async with redis.pipeline(transaction=True) as pipe:
        for key in keys:
            pipe.incr(key)
            pipe.expire(key, window_seconds, nx=True)
        await pipe.execute()


class LoginThrottle:
    """Counts failed sign-ins per username and per address in a sliding-from-first-failure window."""

    def __init__(self, redis: Redis, *, failures_allowed: int, window_seconds: int) -> None:
        self._redis = redis
        self._allowed = failures_allowed
        self._window = window_seconds

    def _limits(self, username: str, address: str) -> list[tuple[str, int]]:
        return [
            (FAILURES_KEY.format("user", username), self._allowed),
            (FAILURES_KEY.format("addr", address), self._allowed * ADDRESS_FAILURE_FACTOR),
        ]

    async def check(self, username: str, address: str) -> None:
        """Raise ``TooManyAttempts`` before the password is even looked at, once a limit is reached."""
        for key, allowed in self._limits(username, address):
            await refuse_past(self._redis, key, allowed, "Too many failed sign-ins; try again in {minutes} minute(s)")

    async def failed(self, username: str, address: str) -> None:
        await count_failure(self._redis, [key for key, _ in self._limits(username, address)], self._window)

    async def succeeded(self, username: str) -> None:
        await self._redis.delete(FAILURES_KEY.format("user", username))
