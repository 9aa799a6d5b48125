"""A real ``giaoban`` process for tests: start it on a free port, wait for /healthz, stop it by signal."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from web.workers import children_of as process_children

GIAOBAN = [sys.executable, "-m", "web"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(*args: str, stdin: str = "", data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--data-dir", str(data_dir)] if data_dir else []
    return subprocess.run([*GIAOBAN, *args, *extra], input=stdin, capture_output=True, text=True, timeout=60)


def children_of(pid: int) -> set[int]:
    return set(process_children(pid))


def descendants_of(pid: int) -> set[int]:
    found = set()
    for child in children_of(pid):
        found |= {child, *descendants_of(child)}
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def get(url: str) -> tuple[int, dict]:
    """A JSON GET; over https the certificate is not checked (tests serve a self-signed one)."""
    unchecked = ssl._create_unverified_context() if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(url, timeout=5, context=unchecked) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def sign_in(port: int, username: str, password: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/session",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


class Server:
    def __init__(self, data_dir: Path, *extra: str, port: int | None = None, one_process: bool = True) -> None:
        """``port``: the one a stopped server had, to start it again where its clients look for it. One process
        unless ``--workers`` is given or ``one_process`` is False (the default, one worker per core): most tests
        read one process's logs and metrics; tests/service/test_cluster.py runs the default and ``--workers``."""
        self.port = port or free_port()
        if one_process and not any(argument.startswith("--workers") for argument in extra):
            extra = (*extra, "--workers", "1")
        self.scheme = "https" if {"--self-signed", "--tls-cert"} & set(extra) else "http"
        # GIAOBAN_TEST_SERVER_LOG=FILE keeps what the servers say there, for a run that is being looked into
        kept = os.environ.get("GIAOBAN_TEST_SERVER_LOG")
        self.process = subprocess.Popen(
            [*GIAOBAN, "serve", "--data-dir", str(data_dir), "--port", str(self.port), *extra],
            stdout=open(kept, "a") if kept else subprocess.PIPE,  # noqa: SIM115  # the child holds it
            stderr=subprocess.STDOUT,
            text=True,
        )
        started = time.monotonic()
        while time.monotonic() - started < 30:
            if self.process.poll() is not None:
                raise AssertionError(f"giaoban serve exited early:\n{self.process.stdout.read()}")  # type: ignore[union-attr]
            with contextlib.suppress(OSError):
                if get(f"{self.scheme}://127.0.0.1:{self.port}/healthz")[0] == 200:
                    self.startup_seconds = time.monotonic() - started
                    return
            time.sleep(0.05)
        self.process.kill()
        raise AssertionError("giaoban serve did not answer /healthz within 30 s")

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        self.process.send_signal(signum)
        output, _ = self.process.communicate(timeout=30)
        return self.process.returncode, output


@dataclass
class Node:
    """A running ``giaoban serve`` as a node of a cluster, and where its clients find it."""

    server: Server
    base: str

    @classmethod
    def of(cls, server: Server) -> Node:
        return cls(server, f"{server.scheme}://127.0.0.1:{server.port}")

    @property
    def ws(self) -> str:
        return self.base.replace("http", "ws") + "/ws"


@contextlib.contextmanager
def serving(data_dir: Path, *extra: str) -> Iterator[Server]:
    server = Server(data_dir, *extra)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.stop()
