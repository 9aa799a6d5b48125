"""The connection to Redis/Valkey: an external URL, or the embedded Valkey of a data directory.

The client is built at once (the embedded server's socket path follows from the data directory), so the web
application can hand it to every store when it is created; ``start`` and ``close`` bracket the server's life.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from scheduler.store.embedded import EmbeddedValkey, ping, socket_path_for

__all__ = ["EmbeddedValkey", "Store", "open_store"]

MAX_CONNECTIONS = 64


class Store:
    def __init__(self, *, redis_url: str | None, data_dir: Path, appendfsync: str = "everysec") -> None:
        self.embedded = None if redis_url else EmbeddedValkey(data_dir, appendfsync)
        url = redis_url or f"unix://{socket_path_for(data_dir)}"
        # A bounded pool that makes callers wait for a free connection: 160 units joining at once must queue for
        # the store, not fail with "Too many connections" as redis-py's default pool does when it is full.
        pool = BlockingConnectionPool.from_url(
            url, max_connections=MAX_CONNECTIONS, timeout=10, decode_responses=True,
            socket_connect_timeout=2, socket_timeout=5, health_check_interval=30,
        )  # fmt: skip
        self.redis = Redis.from_pool(pool)
        # the data directory's own Valkey, whether this process runs it or its --workers parent does
        self.is_embedded = url == f"unix://{socket_path_for(data_dir)}"
        self.description = f"embedded valkey at {socket_path_for(data_dir)}" if self.is_embedded else describe_url(url)

    async def start(self) -> None:
        if self.embedded:
            await self.embedded.start()

    async def close(self) -> None:
        await self.redis.aclose()
        if self.embedded:
            await self.embedded.stop()

    async def is_up(self, timeout: float = 1.0) -> bool:
        try:
            return await asyncio.wait_for(ping(self.redis), timeout)
        except (OSError, RedisError, TimeoutError):
            return False


def describe_url(url: str) -> str:
    """The URL without its password, for logs and /healthz."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"


@contextlib.asynccontextmanager
async def open_store(
    *, redis_url: str | None, data_dir: Path, appendfsync: str = "everysec", reuse_running: bool = False
) -> AsyncIterator[Store]:
    """A started store for the length of the block.

    ``reuse_running``: when ``giaoban serve`` already runs the embedded server of ``data_dir``, talk to it
    instead of starting a second one on the same files. Command-line tools want that; the server does not.
    """
    if not redis_url and reuse_running:
        running = Store(redis_url=f"unix://{socket_path_for(data_dir)}", data_dir=data_dir)
        if await running.is_up():
            try:
                yield running
            finally:
                await running.close()
            return
        await running.close()
    store = Store(redis_url=redis_url, data_dir=data_dir, appendfsync=appendfsync)
    await store.start()
    try:
        yield store
    finally:
        await store.close()
