"""``giaoban bench soak``: a meeting where people keep coming and going, watched for what it leaves behind.

The real service (``giaoban serve`` on a temporary data directory) holds one meeting. A chair publishes and hands
the floor to a random unit every few seconds; participant processes (25 endpoints each) join through ``/ws`` as
browsers do, stay a few seconds, raise a hand now and then, and go: leaving properly, dropping their line, or
reconnecting at once. Every few seconds the bench reads the service's resident memory, open file descriptors and
threads from /proc, and its event-loop tasks, connections and relay objects from ``/metrics``.

What it reports: each figure's average over minute 2 (everyone has joined at least once) against the last minute;
growth over 10 % is a leak to look for. And once everyone has gone: the relay should hold nothing, the tasks and
descriptors should be back where they were before anyone came. Everything stops by itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from statistics import mean
from typing import Any

from aiohttp import ClientSession

from web.bench.clips import audio_clip, video_clip
from web.bench.endpoint import SyntheticEndpoint
from web.bench.province import plan, process_figures, start_service, wait_healthy
from web.bench.relay import Child, free_port
from web.bench.units import join_by_link

PER_PROCESS = 25
SAMPLE_SECONDS = 5.0
STAY_SECONDS = (3.0, 12.0)  # how long a participant stays each time
AWAY_SECONDS = (0.5, 3.0)  # and how long it is away
FLOOR_SECONDS = 4.0  # the chair gives the floor to another unit this often
TARGET_GROWTH = 0.10
WATCHED = ("rss_mb", "fds", "threads", "tasks", "connections", "relay_objects")


# --- endpoint processes -------------------------------------------------------------------------------------------


def _clips(role: str) -> dict[str, Any]:
    if role == "chair":
        return {"audio": audio_clip(),
                "video": video_clip(width=640, height=360, seconds=4, keyframe_every=120, bitrate_kbps=900),
                "video-medium": video_clip(width=480, height=270, seconds=4, keyframe_every=120, bitrate_kbps=400),
                "video-small": video_clip(width=320, height=180, seconds=4, keyframe_every=120,
                                          bitrate_kbps=140)}  # fmt: skip
    return {
        "audio": audio_clip(),
        "video": video_clip(width=320, height=240, seconds=2, keyframe_every=60, bitrate_kbps=300),
        "video-small": video_clip(width=160, height=120, seconds=2, keyframe_every=60, bitrate_kbps=120),
    }


async def churn(role: str, base: str, links_file: str, seconds: float) -> None:
    links = _read_links(links_file)
    clips = _clips(role)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # "go"
    deadline = time.monotonic() + seconds
    tally = {"sessions": 0, "left": 0, "dropped": 0, "reconnected": 0, "failures": 0}
    async with ClientSession() as http:
        if role == "chair":
            await _chair(http, base, links, clips, deadline, tally)
        else:
            await asyncio.gather(*(_participant(http, base, url, clips, deadline, tally) for url in links.values()))
    print(json.dumps(tally), flush=True)


def _read_links(path: str) -> dict[str, str]:
    links: dict[str, str] = json.loads(Path(path).read_text())
    return links


async def _chair(http: ClientSession, base: str, links: dict[str, str], clips: dict[str, Any], deadline: float,
                 tally: dict[str, int]) -> None:  # fmt: skip
    units = [unit for unit in links if unit != "chair"]
    endpoint = SyntheticEndpoint("chair", clips)
    ws, reader = await join_by_link(http, base, links["chair"], "chair", endpoint)
    tally["sessions"] += 1
    try:
        while time.monotonic() < deadline:
            await ws.send_json({"type": "give-floor", "unit": random.choice(units)})  # absent ones: a polite error
            await asyncio.sleep(FLOOR_SECONDS)
            await ws.send_json({"type": "take-floor"})
    finally:
        await endpoint.close()
        await ws.close()
        reader.cancel()


async def _participant(http: ClientSession, base: str, url: str, clips: dict[str, Any], deadline: float,
                       tally: dict[str, int]) -> None:  # fmt: skip
    await asyncio.sleep(random.uniform(0, 5))  # not all at once
    while time.monotonic() < deadline:
        endpoint = SyntheticEndpoint("participant", clips)
        try:
            ws, reader = await join_by_link(http, base, url, "participant", endpoint)
        except Exception:  # the service said no (a rate limit, say): counted, and tried again later
            tally["failures"] += 1
            await endpoint.close()
            await asyncio.sleep(random.uniform(*AWAY_SECONDS))
            continue
        tally["sessions"] += 1
        await asyncio.sleep(random.uniform(*STAY_SECONDS) / 2)
        if random.random() < 0.3:
            await ws.send_json({"type": "raise-hand"})
        await asyncio.sleep(random.uniform(*STAY_SECONDS) / 2)
        how = random.choices(["left", "dropped", "reconnected"], weights=[5, 3, 2])[0]
        tally[how] += 1
        if how == "left":
            await ws.send_json({"type": "leave"})
        await endpoint.close()
        await ws.close()  # "dropped": no goodbye; the service notices the socket close
        reader.cancel()
        if how != "reconnected":
            await asyncio.sleep(random.uniform(*AWAY_SECONDS))


# --- the bench ----------------------------------------------------------------------------------------------------


def _process(pid: int) -> dict[str, float]:
    """Resident memory, open descriptors and threads of the service, from /proc."""
    _, rss = process_figures(pid)
    status = Path(f"/proc/{pid}/status").read_text()
    threads = int(next(line.split()[1] for line in status.splitlines() if line.startswith("Threads:")))
    return {"rss_mb": round(rss, 1), "fds": len(os.listdir(f"/proc/{pid}/fd")), "threads": threads}


async def sample(base: str, pid: int, started: float) -> dict[str, float]:
    async with ClientSession() as http:
        metrics = await (await http.get(f"{base}/metrics")).text()
    figures: dict[str, float] = {}
    for line in metrics.splitlines():
        if line.startswith("giaoban_relay_objects{"):
            figures["relay_objects"] = figures.get("relay_objects", 0.0) + float(line.split()[-1])
        elif line.startswith(("giaoban_asyncio_tasks ", "giaoban_live_connections ", "giaoban_live_members ")):
            name, value = line.split()
            figures[name.removeprefix("giaoban_").removeprefix("asyncio_").removeprefix("live_")] = float(value)
    return {"t": round(time.monotonic() - started, 1), **_process(pid), **figures}


def growth(samples: list[dict[str, float]], minutes: float) -> dict[str, dict[str, float]]:
    """Each watched figure's average over minute 2 and over the last minute, and the growth between them."""
    end = minutes * 60
    early = [s for s in samples if 60 <= s["t"] < 120]
    late = [s for s in samples if end - 60 <= s["t"] <= end]
    result = {}
    for name in WATCHED:
        first, last = mean(s.get(name, 0.0) for s in early), mean(s.get(name, 0.0) for s in late)
        result[name] = {"minute_2": round(first, 1), "last_minute": round(last, 1),
                        "growth": round((last - first) / first, 3) if first else 0.0}  # fmt: skip
    return result


async def bench(endpoints: int, minutes: float) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    seconds = minutes * 60
    with tempfile.TemporaryDirectory() as data_dir:
        server = await start_service(data_dir, port)
        children: list[Child] = []
        try:
            await wait_healthy(base)
            districts = max(1, endpoints // 10)
            links = await plan(base, districts, endpoints - districts)
            chair = {"chair": links.pop("tinh"), **dict.fromkeys(links, "")}
            groups = [chair] + [
                dict(list(links.items())[i : i + PER_PROCESS]) for i in range(0, len(links), PER_PROCESS)
            ]
            for index, group in enumerate(groups):
                path = Path(data_dir) / f"links-{index}.json"
                path.write_text(json.dumps(group))
                role = "chair" if index == 0 else "participant"
                children.append(await Child.start("churn", role, base, str(path), str(seconds),
                                                  module="web.bench.soak"))  # fmt: skip
            started = time.monotonic()
            idle_before = await sample(base, server.pid, started)
            for child in children:
                child.say("go")
            samples = []
            while time.monotonic() - started < seconds:
                await asyncio.sleep(SAMPLE_SECONDS)
                samples.append(await sample(base, server.pid, started))
                print(json.dumps(samples[-1]), file=sys.stderr, flush=True)  # progress, for the person waiting
            tallies = [json.loads(await child.expect("{", timeout=120)) for child in children]
            await asyncio.sleep(10)  # everyone has gone: heartbeats and media timeouts have run
            idle_after = await sample(base, server.pid, started)
        finally:
            for child in children:
                await child.stop()
            server.terminate()
            await server.wait()
    trend = growth(samples, minutes)
    totals = {key: sum(t[key] for t in tallies) for key in tallies[0]}
    worst = max((v["growth"] for k, v in trend.items() if k not in ("connections",)), default=0.0)
    return {
        "endpoints": endpoints + 1,
        "minutes": minutes,
        "sessions": totals,
        "growth_minute_2_to_last": trend,
        "worst_growth": worst,
        "target_met": worst < TARGET_GROWTH,
        "idle_before": idle_before,
        "idle_after_everyone_left": idle_after,
        "samples": samples,
    }


def markdown(result: dict[str, Any], command: str) -> str:
    rows = "\n".join(f"| {name} | {v['minute_2']} | {v['last_minute']} | {100 * v['growth']:+.1f} % |"
                     for name, v in result["growth_minute_2_to_last"].items())  # fmt: skip
    before, after = result["idle_before"], result["idle_after_everyone_left"]
    idle = "\n".join(f"| {name} | {before.get(name, 0)} | {after.get(name, 0)} |" for name in WATCHED)
    verdict = "met" if result["target_met"] else "NOT met"
    return (f"# {command}\n\n{result['endpoints']} endpoints for {result['minutes']} min; sessions: "
            f"{result['sessions']}\n\n| figure | minute 2 | last minute | growth |\n|---|---|---|---|\n{rows}\n\n"
            f"Target (growth < {100 * TARGET_GROWTH:.0f} %, connections aside: they follow the churn): {verdict}; "
            f"worst {100 * result['worst_growth']:+.1f} %.\n\n| figure | before anyone came | after everyone left |\n"
            f"|---|---|---|\n{idle}\n")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(churn(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])))
