"""``giaoban serve --workers N``: N worker processes on one port, each a node of the cluster, kept running.

The parent does only what must happen once: it runs the embedded Valkey (the workers share it) and makes the
self-signed certificate before any worker starts, and loads the demo while they start (workers racing to make
them would clash), then keeps the workers running: it restarts any that dies. Each worker is a fork of the
preloaded fork server (``web/preload.py``) that runs an ordinary ``giaoban serve``, listening with SO_REUSEPORT
(the kernel spreads new connections over them), with a node id made of its index and pid, so that when one dies
the parent takes its node out of the cluster at once instead of waiting for its heartbeat to run out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from pathlib import Path

from redis.asyncio import Redis

from live.nodes import forget
from scheduler.directory.store import RedisUnitStore
from scheduler.store import Store
from scheduler.store.embedded import EmbeddedValkey
from web.accounts import AccountStore
from web.config import Config
from web.demo import demo_accounts_text, load_demo
from web.preload import WORKER_OF, forking

log = logging.getLogger(__name__)

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
        self._starting = asyncio.Lock()  # one start at a time (multiprocessing's bookkeeping is not thread-safe)
        self._processes: dict[int, BaseProcess] = {}
        self.restarts = 0

    async def run(self) -> int:
        """Serve until SIGTERM or SIGINT; 1 at once if the port is taken (workers would die and be restarted for
        ever), before the store starts."""
        refused = port_taken(self._config.host, self._config.port)
        if refused:
            print(f"giaoban: cannot listen on {self._config.host}:{self._config.port}: {refused}", file=sys.stderr)
            return 1
        context = forking()  # its fork server imports the service while the store starts (if not already)
        embedded = None if self._config.redis_url else EmbeddedValkey(self._config.data_dir, self._config.appendfsync)
        if embedded is not None:
            await embedded.start()
        url = self._config.redis_url or (embedded.url if embedded else "")
        redis = Redis.from_url(url, decode_responses=True)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stopping.set)
        keepers = [asyncio.create_task(self._keep(context, index, url, redis))
                   for index in range(self._config.worker_count)]  # fmt: skip
        try:
            if self._config.demo:
                await self._load_demo(url)  # while the workers start: they serve it once it is in
            if await self._listening():
                for warning in self._config.warnings():
                    log.warning(warning)
                count = self._config.worker_count
                print(f"giaoban is serving on {self._config.base_url} ({count} workers)", flush=True)
                if self._config.demo:
                    print(demo_accounts_text(), flush=True)
            await self._stopping.wait()
        finally:
            log.info("stopping %d workers", len(self._processes))
            self._stopping.set()
            await asyncio.gather(*keepers, return_exceptions=True)
            await redis.aclose()
            if embedded is not None:
                await embedded.stop()
        return 0

    async def _keep(self, context: ForkServerContext, index: int, url: str, redis: Redis) -> None:
        """Run worker ``index`` until the parent stops, starting it again whenever it dies."""
        wait = 1.0
        while not self._stopping.is_set():
            started = time.monotonic()
            process = context.Process(target=run_worker, args=(index, self._arguments, self._environment(url)),
                                      name=f"giaoban worker {index}", daemon=True)  # fmt: skip
            try:
                async with self._starting:
                    await asyncio.to_thread(process.start)
            except Exception as exc:  # the fork server is gone: try again, as for a worker that died at once
                log.error("worker %d could not be started: %s", index, exc)
            else:
                node_id = worker_node_id(self._host, index, process.pid or 0)
                self._processes[index] = process
                code = await self._wait(process)
                del self._processes[index]
                process.close()
                with contextlib.suppress(Exception):
                    await forget(redis, node_id)  # its browsers reconnect to the others now, not in 8 s
                if self._stopping.is_set():
                    return
                log.error("worker %d (node %s) exited with %s; starting it again", index, node_id, _how(code))
            self.restarts += 1
            wait = min(MAX_RESTART_WAIT, wait * 2) if time.monotonic() - started < QUICK_DEATH_SECONDS else 1.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), wait if wait > 1.0 else 0.2)

    async def _wait(self, process: BaseProcess) -> int:
        exited = asyncio.create_task(_exit_of(process))
        stopping = asyncio.create_task(self._stopping.wait())
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not exited.done():
            process.terminate()
            try:
                await asyncio.wait_for(asyncio.shield(exited), STOP_SECONDS)
            except TimeoutError:
                process.kill()
        stopping.cancel()
        return await exited

    def _environment(self, url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("GIAOBAN_WORKERS", "GIAOBAN_DEMO")}
        env[WORKER_OF] = str(os.getpid())
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
            await asyncio.sleep(0.05)
        return False


def run_worker(index: int, arguments: Sequence[str], env: dict[str, str]) -> None:
    """A worker's life, in the child the fork server made: the parent's environment with its own node id, then
    ``giaoban serve``; SIGTERM when the parent goes."""
    _die_with(int(env[WORKER_OF]))
    os.environ.clear()
    os.environ.update(env, GIAOBAN_NODE_ID=worker_node_id(socket.gethostname(), index, os.getpid()))
    from web.cli import main  # preloaded: already imported

    raise SystemExit(main(["serve", *arguments]))


def _die_with(parent: int) -> None:
    """SIGTERM this worker when ``parent`` is gone, as PR_SET_PDEATHSIG does for a direct child: the fork server
    is this worker's parent, and it lives as long as any worker does (each holds the pipe that tells it)."""
    try:
        watched = os.pidfd_open(parent)
    except ProcessLookupError:
        os.kill(os.getpid(), signal.SIGTERM)
        return

    def watch() -> None:
        select.select([watched], [], [])
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent watch", daemon=True).start()


def worker_pids(parent: int) -> list[int]:
    """The worker processes of the ``--workers`` parent ``parent``: the children of its fork server."""
    servers = [pid for pid in children_of(parent) if b"multiprocessing.forkserver" in _command_line(pid)]
    return sorted(pid for server in servers for pid in children_of(server))


def children_of(parent: int) -> list[int]:
    """The processes whose parent is ``parent``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
    return found


def _command_line(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def worker_node_id(host: str, index: int, pid: int) -> str:
    """Which machine, which process, which worker: known to the parent as soon as the worker is forked."""
    return f"{host}-{pid}-w{index}"


async def _exit_of(process: BaseProcess) -> int:
    """A started worker's exit code, once it has exited (its sentinel becomes readable then)."""
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not ended.done():
            ended.set_result(None)

    loop.add_reader(process.sentinel, readable)
    try:
        await ended
    finally:
        loop.remove_reader(process.sentinel)
    process.join()
    return process.exitcode if process.exitcode is not None else 255


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
