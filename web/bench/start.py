"""``giaoban bench start``: how long ``giaoban serve --demo`` takes to serve, from the command to a working page.

Each run starts the console script as an operator would, on a fresh data directory (the embedded Valkey, the
demo province and accounts, the certificate-less port), and times two moments: the banner ("giaoban is serving
on …", printed once the port takes connections and the demo is in) and the first ``/healthz`` answered with 200.
Then it stops the service with SIGTERM and waits for every process of it to be gone before the next run.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout

from web.bench.relay import free_port

TIMEOUT = 60.0


async def bench(runs: int, workers: int) -> dict[str, Any]:
    banners, healthy = [], []
    for _ in range(runs):
        banner, health = await _one_start(workers)
        banners.append(banner)
        healthy.append(health)
    return {
        "runs": runs,
        "workers": workers or "one per core",
        "banner_seconds": [round(b, 2) for b in banners],
        "healthz_seconds": [round(h, 2) for h in healthy],
        "healthz_seconds_p50": round(statistics.median(healthy), 2),
        "healthz_seconds_max": round(max(healthy), 2),
    }


async def _one_start(workers: int) -> tuple[float, float]:
    folder = tempfile.mkdtemp(prefix="giaoban-start-")
    port = free_port()
    command = [_console_script(), "serve", "--demo", "--data-dir", folder, "--port", str(port)]
    if workers:
        command += ["--workers", str(workers)]
    started = time.monotonic()
    service = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.DEVNULL)  # fmt: skip
    try:
        assert service.stdout is not None
        line = await asyncio.wait_for(service.stdout.readline(), TIMEOUT)
        banner = time.monotonic() - started
        if not line.startswith(b"giaoban is serving"):
            raise RuntimeError(f"the service did not start: {line.decode(errors='replace')!r}")
        health = await _first_healthy(f"http://127.0.0.1:{port}/healthz", started)
    finally:
        if service.returncode is None:
            service.send_signal(signal.SIGTERM)
            await asyncio.wait_for(service.communicate(), TIMEOUT)
        shutil.rmtree(folder, ignore_errors=True)
    return banner, health


async def _first_healthy(url: str, started: float) -> float:
    async with ClientSession(timeout=ClientTimeout(total=2)) as http:
        while time.monotonic() - started < TIMEOUT:
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return time.monotonic() - started
            except (ClientError, OSError):
                pass
            await asyncio.sleep(0.02)
    raise RuntimeError(f"{url} did not answer 200 within {TIMEOUT:.0f} s")


def _console_script() -> str:
    """The ``giaoban`` next to this interpreter (a virtual environment's), or the one on the PATH."""
    beside = Path(sys.executable).with_name("giaoban")
    return str(beside) if beside.exists() else shutil.which("giaoban") or "giaoban"


def markdown(result: dict[str, Any], command: str) -> str:
    return "\n".join([
        f"# Start-up ({command})", "",
        f"`giaoban serve --demo` on a fresh data dir, {result['runs']} runs, workers: {result['workers']}.", "",
        "| run | banner (s) | /healthz 200 (s) |", "|---|---|---|",
        *(f"| {i + 1} | {b} | {h} |"
          for i, (b, h) in enumerate(zip(result["banner_seconds"], result["healthz_seconds"], strict=True))),
        "", f"/healthz: p50 **{result['healthz_seconds_p50']} s**, max {result['healthz_seconds_max']} s.", "",
    ])  # fmt: skip
