"""``giaoban serve --workers N``: N worker processes on one port, each a node of the cluster, kept running.

The parent does only what must happen once: it runs the embedded Valkey (the workers share it), makes the
self-signed certificate and loads the demo before any worker starts (two workers racing to make them would clash),
then starts the workers and restarts any that dies. Each worker is an ordinary ``giaoban serve`` that listens with
SO_REUSEPORT (the kernel spreads new connections over them) and has a node id the parent chose, so that when one
dies the parent takes its node out of the cluster at once instead of waiting for its heartbeat to run out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import sys
import time
from collections.abc import Sequence

from redis.asyncio import Redis

from live.nodes import forget
from scheduler.directory.store import RedisUnitStore
from scheduler.store import Store
from scheduler.store.embedded import EmbeddedValkey, die_with_parent
from web.accounts import AccountStore
from web.config import Config
from web.demo import demo_accounts_text, load_demo

log = logging.getLogger(__name__)

WORKER_OF = "GIAOBAN_WORKER_OF"  # set in a worker's environment: the parent's pid
QUICK_DEATH_SECONDS = 10.0  # a worker that dies sooner than this after its start waits longer before the next
MAX_RESTART_WAIT = 30.0
STOP_SECONDS = 20.0


def is_worker() -> bool:
    return WORKER_OF in os.environ


def worker_arguments(argv: Sequence[str]) -> list[str]:
    """The parent's ``serve`` arguments, less what only the parent does (``--workers``, ``--demo``)."""
    kept: list[str] = []
    skip = False
    for argument in argv:
        if skip:
            skip = False
        elif argument == "--workers":
            skip = True
        elif not argument.startswith("--workers=") and argument != "--demo":
            kept.append(argument)
    return kept


class Workers:
    def __init__(self, config: Config, arguments: Sequence[str]) -> None:
        self._config = config
        self._arguments = list(arguments)
        self._host = socket.gethostname()
        self._stopping = asyncio.Event()
        self._processes: dict[int, asyncio.subprocess.Process] = {}
        self.restarts = 0

    async def run(self) -> int:
        """Serve until SIGTERM or SIGINT; 1 at once if the port is taken (workers would die and be restarted for
        ever), before the store starts."""
        refused = port_taken(self._config.host, self._config.port)
        if refused:
            print(f"giaoban: cannot listen on {self._config.host}:{self._config.port}: {refused}", file=sys.stderr)
            return 1
        embedded = None if self._config.redis_url else EmbeddedValkey(self._config.data_dir, self._config.appendfsync)
        if embedded is not None:
            await embedded.start()
        url = self._config.redis_url or (embedded.url if embedded else "")
        redis = Redis.from_url(url, decode_responses=True)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stopping.set)
        try:
            if self._config.demo:
                await self._load_demo(url)
            keepers = [asyncio.create_task(self._keep(index, url, redis)) for index in range(self._config.worker_count)]
            if await self._listening():
                count = self._config.worker_count
                print(f"giaoban is serving on {self._config.base_url} ({count} workers)", flush=True)
                if self._config.demo:
                    print(demo_accounts_text(), flush=True)
            await self._stopping.wait()
            log.info("stopping %d workers", len(self._processes))
            for process in list(self._processes.values()):
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
            await asyncio.gather(*keepers, return_exceptions=True)
        finally:
            await redis.aclose()
            if embedded is not None:
                await embedded.stop()
        return 0

    async def _keep(self, index: int, url: str, redis: Redis) -> None:
        """Run worker ``index`` until the parent stops, starting it again whenever it dies."""
        wait = 1.0
        while not self._stopping.is_set():
            node_id = f"{self._host}-w{index}-{secrets.token_hex(2)}"
            started = time.monotonic()
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "web.cli", "serve", *self._arguments,
                env=self._environment(url, node_id), preexec_fn=die_with_parent,
            )  # fmt: skip
            self._processes[index] = process
            code = await self._wait(process)
            del self._processes[index]
            with contextlib.suppress(Exception):
                await forget(redis, node_id)  # its browsers reconnect to the others now, not in 8 s
            if self._stopping.is_set():
                return
            log.error("worker %d (node %s, pid %d) exited with %s; starting it again", index, node_id, process.pid,
                      _how(code))  # fmt: skip
            self.restarts += 1
            wait = min(MAX_RESTART_WAIT, wait * 2) if time.monotonic() - started < QUICK_DEATH_SECONDS else 1.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), wait if wait > 1.0 else 0.2)

    async def _wait(self, process: asyncio.subprocess.Process) -> int:
        waiting = asyncio.create_task(process.wait())
        stopping = asyncio.create_task(self._stopping.wait())
        await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done():
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(asyncio.shield(waiting), STOP_SECONDS)
            except TimeoutError:
                process.kill()
        stopping.cancel()
        return await waiting

    def _environment(self, url: str, node_id: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("GIAOBAN_WORKERS", "GIAOBAN_DEMO")}
        env.update({WORKER_OF: str(os.getpid()), "GIAOBAN_NODE_ID": node_id})
        if not self._config.redis_url:
            env["GIAOBAN_REDIS_URL"] = url
        return env

    async def _load_demo(self, url: str) -> None:
        store = Store(redis_url=url, data_dir=self._config.data_dir)
        try:
            await load_demo(RedisUnitStore(store.redis), AccountStore(store.redis))
        finally:
            await store.close()

    async def _listening(self, timeout: float = 60.0) -> bool:
        host = "127.0.0.1" if self._config.host in ("0.0.0.0", "localhost") else self._config.host
        host = "::1" if host == "::" else host
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._stopping.is_set():
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection(host, self._config.port)
                writer.close()
                return True
            await asyncio.sleep(0.2)
        return False


def port_taken(host: str, port: int) -> str:
    """Why the workers could not listen on ``host:port`` (sharing it, as they do), or "" if they can."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError as error:
        return str(error.strerror or error)
    for family, kind, protocol, _, address in infos:
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            try:
                probe.bind(address)
            except OSError as error:
                return str(error.strerror or error)
    return ""


def _how(code: int) -> str:
    return f"signal {signal.Signals(-code).name}" if code < 0 else f"code {code}"
