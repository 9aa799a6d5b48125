"""Staff accounts (admin, host, secretary) with Argon2 password hashes, stored in Redis.

Key layout:
- ``USER_KEY.format(username)`` (hash): ``role``, ``password_hash``, ``created_at``, ``disabled`` ("1" when an admin
  disabled it: it cannot sign in, and its open sessions stop at their next request).
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

from scheduler.errors import Conflict, InvalidInput, NotFound, Problem

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
    disabled: bool = False
    created_at: int = 0  # Unix seconds


class AccountStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._hasher = PasswordHasher()
        # Verifying against this when the user is unknown keeps "no such user" as slow as "wrong password". Made
        # at the first sign-in (of anyone, known or not: the same delay either way), not with every store: a
        # tenth of a second of CPU in each worker's start and each command that adds an account.
        self._decoy_hash = ""

    async def add(self, username: str, role: str, password: str, *, replace: bool = False) -> Account:
        username = normalise_username(username)
        problems = []
        if not USERNAME_PATTERN.match(username):
            problems.append(Problem("username", "2–32 lower-case letters, digits, dots, dashes or underscores"))
        problems += [p for p in (_role_problem(role), _password_problem(password)) if p]
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
        if not self._decoy_hash:
            self._decoy_hash = await asyncio.to_thread(self._hasher.hash, "not a password of anyone")
        password_hash = stored.get("password_hash", self._decoy_hash)
        if len(password) > MAX_PASSWORD_LENGTH:
            return None
        try:
            await asyncio.to_thread(self._hasher.verify, password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        if "role" not in stored or stored.get("disabled") == "1":
            return None
        return Account(username, stored["role"])

    async def get(self, username: str) -> Account | None:
        username = normalise_username(username)
        stored = await self._redis.hgetall(USER_KEY.format(username))
        return _account(username, stored) if stored.get("role") else None

    async def all(self) -> list[Account]:
        """Every account, by username."""
        names = sorted(await self._redis.smembers(USERS_KEY))
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(USER_KEY.format(name))
            stored = await pipe.execute()
        return [_account(name, fields) for name, fields in zip(names, stored, strict=True) if fields.get("role")]

    async def change(self, username: str, *, role: str | None = None, disabled: bool | None = None,
                     password: str | None = None) -> Account:  # fmt: skip
        """An admin's change to an existing account: its role, whether it may sign in, a new password."""
        current = await self.get(username)
        if current is None:
            raise NotFound("There is no account named {username}", username=username)
        fields: dict[str, str] = {}
        problems = [p for p in (role is not None and _role_problem(role),
                                password is not None and _password_problem(password)) if p]  # fmt: skip
        if problems:
            raise InvalidInput("The account was not changed", problems=problems)
        if role is not None:
            fields["role"] = role
        if disabled is not None:
            fields["disabled"] = "1" if disabled else "0"
        if password is not None:
            fields["password_hash"] = await asyncio.to_thread(self._hasher.hash, password)
        if fields:
            await self._redis.hset(USER_KEY.format(current.username), mapping=fields)
        changed = await self.get(current.username)
        assert changed is not None
        return changed

    async def count(self) -> int:
        return int(await self._redis.scard(USERS_KEY))


def _role_problem(role: str) -> Problem | None:
    return None if role in ROLES else Problem("role", "One of {roles}", {"roles": ", ".join(ROLES)})


def _password_problem(password: str) -> Problem | None:
    if MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        return None
    return Problem("password", "From {low} to {high} characters",
                   {"low": MIN_PASSWORD_LENGTH, "high": MAX_PASSWORD_LENGTH})  # fmt: skip


def _account(username: str, stored: dict[str, str]) -> Account:
    return Account(username, stored["role"], stored.get("disabled") == "1", int(stored.get("created_at") or 0))


def normalise_username(username: str) -> str:
    return username.strip().lower()
