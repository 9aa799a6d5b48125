"""The organisation directory in Redis.

Key layout:
- ``UNITS_KEY`` (hash): unit code → the unit as JSON.

An import reads the whole directory, checks the merged tree and writes in one transaction guarded by WATCH, so two
imports at once cannot together build a tree that neither would have been allowed to build alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import WatchError

from scheduler.directory.units import Unit, check_tree

UNITS_KEY = "giaoban:units"


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int


class UnitStore(Protocol):
    async def all(self) -> dict[str, Unit]: ...

    async def count(self) -> int: ...

    async def import_units(self, incoming: Mapping[str, tuple[int, Unit]]) -> ImportResult: ...


class RedisUnitStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def all(self) -> dict[str, Unit]:
        return _decode_all(await self._redis.hgetall(UNITS_KEY))

    async def count(self) -> int:
        return int(await self._redis.hlen(UNITS_KEY))

    async def import_units(self, incoming: Mapping[str, tuple[int, Unit]]) -> ImportResult:
        """Upsert by code, all or nothing; raises ``InvalidInput`` (from ``check_tree``) and stores nothing."""
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(UNITS_KEY)
                    existing = _decode_all(await pipe.hgetall(UNITS_KEY))
                    merged = check_tree(existing, incoming)
                    pipe.multi()
                    pipe.hset(UNITS_KEY, mapping={code: _encode(merged[code]) for code in incoming})
                    await pipe.execute()
                except WatchError:
                    continue  # someone changed the directory meanwhile: check again against their version
                created = sum(1 for code in incoming if code not in existing)
                return ImportResult(created=created, updated=len(incoming) - created)


def _encode(unit: Unit) -> str:
    return json.dumps(unit.to_json(), ensure_ascii=False)


def _decode_all(raw: Mapping[str, str]) -> dict[str, Unit]:
    return {code: Unit.from_json(json.loads(value)) for code, value in raw.items()}
