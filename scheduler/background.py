"""Every long-lived loop of the service runs under one supervisor: none can die quietly.

A loop (the mail sender, the reminder scan, the attendance writer …) is an ``async`` function that runs until its
owner asks it to stop. If it raises instead — a Redis error in the middle of a claim, a bug — the supervisor logs
the exception with its traceback, waits (1 s, doubling to 60 s while it keeps failing) and runs it again, counts
the restart (``giaoban_background_restarts_total{task}``) and shows a loop that keeps failing in ``/healthz``.
The owner says how its loop stops cleanly (a flag, an event, giving work back): :meth:`Supervised.stop` marks the
loop as stopping, asks it that way, waits, and cancels it only after a grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
STABLE_SECONDS = 60.0  # a loop that ran this long before failing starts its backoff afresh
FAILING_AFTER = 3  # failures in a row: /healthz calls the loop failing
STOP_GRACE_SECONDS = 5.0

Loop = Callable[[], Awaitable[None]]
Ask = Callable[[], object]  # asks the loop to return soon (sets its event, its flag …)


class TaskState:
    RUNNING = "running"
    RESTARTING = "restarting"  # it failed and waits for its next run
    FAILING = "failing"  # the same, after FAILING_AFTER failures in a row (each within STABLE_SECONDS of its start)
    STOPPED = "stopped"


@dataclass(frozen=True)
class Backoff:
    first: float = FIRST_BACKOFF_SECONDS
    most: float = MAX_BACKOFF_SECONDS
    stable: float = STABLE_SECONDS

    def delay(self, failures_in_a_row: int) -> float:
        return float(min(self.most, self.first * 2 ** (failures_in_a_row - 1)))


class Supervised:
    """One loop, run and rerun until stopped."""

    def __init__(self, name: str, loop: Loop, ask_to_stop: Ask, backoff: Backoff) -> None:
        self.name = name
        self._ask_to_stop = ask_to_stop
        self.restarts = 0
        self.failures_in_a_row = 0
        self.last_problem = ""
        self._loop = loop
        self._backoff = backoff
        self._stopping = asyncio.Event()
        self._waiting = False
        self._task = asyncio.create_task(self._run(), name=name)

    @property
    def state(self) -> str:
        if self._task.done():
            return TaskState.STOPPED
        if not self._waiting:
            return TaskState.RUNNING
        return TaskState.FAILING if self.failures_in_a_row >= FAILING_AFTER else TaskState.RESTARTING

    def report(self) -> dict[str, Any]:
        return {"state": self.state, "restarts": self.restarts, "problem": self.last_problem}

    async def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """Ask the loop to stop (its owner's way), wait for it, cancel it if it is late."""
        self._stopping.set()  # first: the loop returning now is what was asked, not a failure
        self._ask_to_stop()
        done, _ = await asyncio.wait([self._task], timeout=grace_seconds)
        if not done:
            log.warning("background %s did not stop in %.0f s; cancelling it", self.name, grace_seconds)
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                await self._loop()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self._stopping.is_set():
                    return
                self.last_problem = f"{type(exc).__name__}: {exc}"[:300]
                log.exception("background %s failed; running it again", self.name)
            else:
                if self._stopping.is_set():
                    return
                self.last_problem = "returned while it should run"
                log.error("background %s returned while it should run; running it again", self.name)
            ran = time.monotonic() - started
            self.failures_in_a_row = 1 if ran >= self._backoff.stable else self.failures_in_a_row + 1
            self.restarts += 1
            self._waiting = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._backoff.delay(self.failures_in_a_row))
            self._waiting = False


class Background:
    """The application's supervisor: each lifecycle starts its loops here and stops them in its own order."""

    def __init__(self, backoff: Backoff | None = None) -> None:
        self.tasks: dict[str, Supervised] = {}
        self._backoff = backoff or Backoff()

    def start(self, name: str, loop: Loop, *, stop: Ask) -> Supervised:
        """Run ``loop`` until :meth:`Supervised.stop`, which calls ``stop`` to ask it to return."""
        if name in self.tasks and self.tasks[name].state != TaskState.STOPPED:
            raise RuntimeError(f"background task {name} is already running")
        supervised = self.tasks[name] = Supervised(name, loop, stop, self._backoff)
        return supervised

    def report(self) -> dict[str, dict[str, Any]]:
        return {name: task.report() for name, task in sorted(self.tasks.items())}

    def failing(self) -> list[str]:
        return [name for name, task in self.tasks.items() if task.state == TaskState.FAILING]
