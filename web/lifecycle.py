"""What runs for the life of the application: the store (and its supervisor), demo data, the shutdown signal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from web.demo import load_demo
from web.keys import ACCOUNTS, CONFIG, SHUTDOWN, STORE, UNITS

log = logging.getLogger(__name__)


class Shutdown:
    """Lets any part of the application ask the server to stop, with a reason and an exit code."""

    def __init__(self) -> None:
        self._requested = asyncio.Event()
        self.reason = ""
        self.exit_code = 0

    def request(self, reason: str, exit_code: int = 1) -> None:
        if not self._requested.is_set():
            self.reason, self.exit_code = reason, exit_code
            self._requested.set()

    async def wait(self) -> None:
        await self._requested.wait()


async def store_lifecycle(app: web.Application) -> AsyncIterator[None]:
    """Start the store (and watch the embedded server), load demo data if asked, stop it all in order."""
    store = app[STORE]
    await store.start()
    supervisor = None
    if store.embedded is not None:
        supervisor = asyncio.create_task(store.embedded.supervise(app[SHUTDOWN].request), name="valkey-supervisor")
    log.info("store: %s", store.description)
    try:
        if app[CONFIG].demo:
            await load_demo(app[UNITS], app[ACCOUNTS])
        yield
    finally:
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        await store.close()
