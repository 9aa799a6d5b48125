"""The supervisor of the service's long-lived loops: a loop that fails is logged, run again later, counted."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from scheduler.background import Background, Backoff, TaskState

QUICK = Backoff(first=0.05, most=0.2, stable=5.0)


async def until(condition, seconds: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_failing_loop_is_logged_run_again_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    background = Background(QUICK)
    runs: list[float] = []
    stop = asyncio.Event()

    async def flaky() -> None:
        runs.append(time.monotonic())
        if len(runs) <= 2:
            raise ConnectionError("the store went away")
        await stop.wait()

    with caplog.at_level(logging.ERROR, "scheduler.background"):
        task = background.start("mail-sender", flaky, stop=stop.set)
        await until(lambda: len(runs) == 3)
    assert task.restarts == 2 and task.state == TaskState.RUNNING
    assert runs[2] - runs[1] >= 0.09  # backed off: 0.05 s, then 0.1 s
    assert "ConnectionError: the store went away" in task.last_problem
    assert sum("Traceback" in (r.exc_text or "") or r.exc_info is not None for r in caplog.records) == 2
    await task.stop()
    assert task.state == TaskState.STOPPED and background.report()["mail-sender"]["restarts"] == 2


async def test_a_loop_that_keeps_failing_is_reported_failing_until_it_runs_again() -> None:
    background = Background(QUICK)
    healthy = asyncio.Event()
    stop = asyncio.Event()

    async def broken() -> None:
        if not healthy.is_set():
            raise RuntimeError("bug")
        await stop.wait()

    task = background.start("reminders", broken, stop=stop.set)
    await until(lambda: background.failing() == ["reminders"])
    assert task.failures_in_a_row >= 3
    healthy.set()
    await until(lambda: task.state == TaskState.RUNNING, seconds=2)
    await task.stop()


async def test_a_loop_that_returns_on_its_own_is_run_again() -> None:
    background = Background(QUICK)
    runs = 0
    stop = asyncio.Event()

    async def returns_early() -> None:
        nonlocal runs
        runs += 1
        if runs < 3:
            return
        await stop.wait()

    task = background.start("link-sampler", returns_early, stop=stop.set)
    await until(lambda: runs == 3)
    assert task.restarts == 2 and task.last_problem == "returned while it should run"
    await task.stop()


async def test_a_loop_that_ignores_its_stop_is_cancelled_after_the_grace() -> None:
    background = Background(QUICK)
    cancelled = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cancelled.set()

    task = background.start("program-worker", stubborn, stop=lambda: None)
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await task.stop(grace_seconds=0.2)
    assert cancelled.is_set() and 0.15 < time.monotonic() - started < 1.0
    assert task.restarts == 0 and task.state == TaskState.STOPPED
