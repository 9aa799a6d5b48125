"""Staff accounts (admin, host, secretary) with Argon2 password hashes, stored in Redis.

Key layout:
- ``USER_KEY.format(username)`` (hash): ``role``, ``password_hash``, ``created_at``.
- ``USERS_KEY`` (set): every username, for listing and "is the store empty".

Hashing costs ~50 ms of CPU on purpose, so it runs in a worker thread and never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis

from scheduler.errors import Conflict, InvalidInput, Problem

ROLES = ("admin", "host", "secretary")
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256  # Argon2 accepts more; a bound stops CPU-burning megabyte "passwords"

USERS_KEY = "giaoban:users"
USER_KEY = "giaoban:user:{}"


@dataclass(frozen=True)
class Account:
    username: str
    role: str


class AccountStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._hasher = PasswordHasher()
        # Verifying against this when the user is unknown keeps "no such user" as slow as "wrong password".
        self._decoy_hash = self._hasher.hash("not a password of anyone")

    async def add(self, username: str, role: str, password: str, *, replace: bool = False) -> Account:
        username = normalise_username(username)
        problems = []
        if not USERNAME_PATTERN.match(username):
            problems.append(Problem("username", "2–32 lower-case letters, digits, dots, dashes or underscores"))
        if role not in ROLES:
            problems.append(Problem("role", "One of {roles}", {"roles": ", ".join(ROLES)}))
        if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
            problems.append(Problem("password", "From {low} to {high} characters",
                                    {"low": MIN_PASSWORD_LENGTH, "high": MAX_PASSWORD_LENGTH}))  # fmt: skip
        if problems:
            raise InvalidInput("The account was not created", problems=problems)
        password_hash = await asyncio.to_thread(self._hasher.hash, password)
        key = USER_KEY.format(username)
        fields = {"role": role, "password_hash": password_hash, "created_at": str(int(time.time()))}
        if not replace and not await self._redis.hsetnx(key, "role", role):
            raise Conflict("An account named {username} already exists", username=username)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.sadd(USERS_KEY, username)
            await pipe.execute()
        return Account(username, role)

    async def authenticate(self, username: str, password: str) -> Account | None:
        """The account if the password is right; ``None`` for a wrong password or an unknown user alike."""
        username = normalise_username(username)
        stored = await self._redis.hgetall(USER_KEY.format(username)) if username else {}
        password_hash = stored.get("password_hash", self._decoy_hash)
        if len(password) > MAX_PASSWORD_LENGTH:
            return None
        try:
            await asyncio.to_thread(self._hasher.verify, password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        return Account(username, stored["role"]) if "role" in stored else None

    async def get(self, username: str) -> Account | None:
        role = await self._redis.hget(USER_KEY.format(normalise_username(username)), "role")
        return Account(username, role) if role else None

    async def count(self) -> int:
        return int(await self._redis.scard(USERS_KEY))


def normalise_username(username: str) -> str:
    return username.strip().lower()
