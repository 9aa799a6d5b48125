"""What runs for the life of the application: the store (and its supervisor), demo data, the shutdown signal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from redis.exceptions import RedisError

from web.demo import load_demo
from web.keys import ACCOUNTS, BACKGROUND, CLOCK, CONFIG, INVITATIONS, MAIL_SENDER, SHUTDOWN, STORE, UNITS

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


REMINDER_SCAN_SECONDS = 60.0


async def mail_lifecycle(app: web.Application) -> AsyncIterator[None]:
    """Run the SMTP sender (when SMTP is configured) and the reminder scan; stop both before the store."""
    sender = app[MAIL_SENDER]
    stop_reminders = asyncio.Event()
    background = app[BACKGROUND]
    tasks = [background.start("reminders", lambda: _queue_reminders_until(app, stop_reminders),
                              stop=stop_reminders.set)]  # fmt: skip
    if sender is not None:
        tasks.append(background.start("mail-sender", sender.run, stop=sender.stop))
    try:
        yield
    finally:
        # Ask, then wait: a cancellation that lands inside a Redis call can be absorbed there.
        await asyncio.gather(*(task.stop() for task in tasks))


async def _queue_reminders_until(app: web.Application, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            if await app[INVITATIONS].queue_reminders(app[CLOCK].now()):
                wake_mail_sender(app)
        except (RedisError, OSError):
            log.warning("reminders: the store is unreachable; trying again in %.0f s", REMINDER_SCAN_SECONDS)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REMINDER_SCAN_SECONDS)


def wake_mail_sender(app: web.Application) -> None:
    """Mail was queued: send it now rather than at the next poll (no-op without SMTP)."""
    sender = app[MAIL_SENDER]
    if sender is not None:
        sender.wake()
