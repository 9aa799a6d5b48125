"""``giaoban bench province``: a chair and every district and commune joining one meeting at once.

It runs the real service (``giaoban serve`` on a temporary data directory and its own embedded Valkey), imports a
synthetic province, plans a meeting over the API and takes every unit's join link. A chair process publishes
~1 Mbit/s of pre-encoded VP8 and Opus; participant processes (25 endpoints each) join through ``/ws`` exactly as
browsers do, all at once, publish a picture and a voice (paused, as pages do, while the relay says nobody receives
them: the chair's console shows twelve), and count the chair's frames without decoding. The service's own CPU and
memory are read from /proc. Everything stops by itself. The endpoint processes are web/bench/units.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, CookieJar

from live.nodes import list_nodes
from scheduler.meetings.model import VIETNAM
from scheduler.store import Store
from web.bench.metrics import service_metrics
from web.bench.relay import Child, free_port
from web.workers import worker_pids

PER_PROCESS = 25
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def province_csv(districts: int, communes: int) -> str:
    rows = ["code,name,kind,parent_code,lat,lon,emails", "tinh,UBND tỉnh,province,,22.43,104.00,"]
    for d in range(districts):
        rows.append(f"h{d:02},UBND huyện {d + 1},district,tinh,{22.0 + d / 20:.3f},{104.0 + d / 20:.3f},")
    for c in range(communes):
        rows.append(f"h{c % districts:02}.x{c:03},UBND xã {c + 1},commune,h{c % districts:02},"
                    f"{22.0 + c / 200:.3f},{103.8 + c / 300:.3f},")  # fmt: skip
    return "\n".join(rows) + "\n"


# --- the bench ----------------------------------------------------------------------------------------------------


def process_figures(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) and resident megabytes of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES / 2**20
    return cpu, rss


async def plan(base: str, districts: int, communes: int) -> dict[str, str]:
    return (await plan_meeting(base, districts, communes))[1]


async def plan_meeting(base: str, districts: int, communes: int) -> tuple[str, dict[str, str]]:
    """The synthetic province imported and its meeting planned: the meeting's id, and each unit's join link."""
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:  # unsafe: keep cookies of an IP address
        admin = await (
            await http.post(f"{base}/api/session", json={"username": "admin", "password": "demo-admin"})
        ).json()
        csv_headers = {"X-CSRF-Token": admin["csrf_token"], "Content-Type": "text/csv"}
        imported = await http.post(f"{base}/api/units/import", data=province_csv(districts, communes).encode(),
                                   headers=csv_headers)  # fmt: skip
        if imported.status != 200:
            raise RuntimeError(f"importing the synthetic province failed: {await imported.text()}")
        host = await (await http.post(f"{base}/api/session", json={"username": "host", "password": "demo-host"})).json()
        start = datetime.now(VIETNAM) + timedelta(minutes=5)
        units = [f"h{d:02}" for d in range(districts)] + [f"h{c % districts:02}.x{c:03}" for c in range(communes)]
        body = {"title": "Giao ban toàn tỉnh", "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
                "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"), "chair_unit": "tinh",
                "invited_units": units}  # fmt: skip
        headers = {"X-CSRF-Token": host["csrf_token"]}
        meeting = await (await http.post(f"{base}/api/meetings", json=body, headers=headers)).json()
        if "id" not in meeting:
            raise RuntimeError(f"planning the meeting failed: {meeting}")
        rows = (await (await http.get(f"{base}/api/meetings/{meeting['id']}/invitations")).json())["invitations"]
        return meeting["id"], {row["unit"]: row["join_url"] for row in rows}


async def attendance_of(base: str, meeting_id: str) -> list[dict[str, Any]]:
    """The meeting's attendance as its secretary reads it: a row per unit (drops, intervals …)."""
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        await http.post(f"{base}/api/session", json={"username": "secretary", "password": "demo-secretary"})
        async with http.get(f"{base}/api/meetings/{meeting_id}/attendance") as response:
            units: list[dict[str, Any]] = (await response.json())["units"]
            return units


async def plan_demo_meeting(
    http: ClientSession, base: str, units: list[str], title: str = "Giao ban"
) -> dict[str, str]:
    """As the demo host over the API: a meeting of the demo province's ``units``, chaired by the province, starting in
    five minutes (its room is open now); each unit's join link, the chair's too. ``http`` must keep the cookies of
    an IP address (``CookieJar(unsafe=True)``)."""
    async with http.post(f"{base}/api/session", json={"username": "host", "password": "demo-host"}) as response:
        csrf = (await response.json())["csrf_token"]
    start = datetime.now(VIETNAM) + timedelta(minutes=5)
    body = {"title": title, "starts_at": start.strftime("%Y-%m-%dT%H:%M"), "chair_unit": "laocai",
            "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"), "invited_units": units}  # fmt: skip
    async with http.post(f"{base}/api/meetings", json=body, headers={"X-CSRF-Token": csrf}) as response:
        meeting = await response.json()
    if "id" not in meeting:
        raise RuntimeError(f"planning the meeting failed: {meeting}")
    async with http.get(f"{base}/api/meetings/{meeting['id']}/invitations") as response:
        rows = (await response.json())["invitations"]
    return {row["unit"]: row["join_url"] for row in rows}


async def bench(districts: int, communes: int, seconds: float, *, workers: int = 1, nice: int = 19,
                server_url: str = "", presentation: bool = False, start_kbps: int = 0,
                kill_worker_after: float | None = None) -> dict[str, Any]:  # fmt: skip
    """``workers``: the service's processes (each a node); ``nice``: the endpoints' CPU priority (19, the lowest:
    the service gets the machine as a dedicated server would; 0: they compete as equals); ``server_url``: drive a
    service that runs elsewhere (with the demo accounts) instead of starting one here; ``kill_worker_after``:
    seconds into the window, SIGKILL a worker that is not the meeting's origin (its units rejoin as pages do)."""
    with tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        base = server_url.rstrip("/") or f"http://127.0.0.1:{port}"
        # Its endpoints count packets and send no receiver reports, so their lines can never show the relay they
        # carry more than they start at: with a presentation (~540 kbit/s before the chair's picture) they start
        # as a LAN would, at all of it (``start_kbps`` sets it for a run to compare with).
        start = start_kbps or (2500 if presentation else 0)
        extra = ("--link-start-kbps", str(start)) if start else ()
        server = None if server_url else await start_service(data_dir, port, workers, *extra)
        children: list[Child] = []
        try:
            await wait_healthy(base)
            meeting_id, links = await plan_meeting(base, districts, communes)
            chair_link = links.pop("tinh")
            units_of = {url: unit for unit, url in links.items()}
            groups = [[chair_link]] + [list(links.values())[i : i + PER_PROCESS]
                                       for i in range(0, len(links), PER_PROCESS)]  # fmt: skip
            for index, group in enumerate(groups):
                path = Path(data_dir) / f"links-{index}.json"
                path.write_text(json.dumps(group))
                role = "chair" if index == 0 else "participant"
                shown = ["presentation"] if presentation else []
                children.append(await Child.start("endpoints", role, base, str(path), *shown,
                                                  module="web.bench.units", nice=nice))  # fmt: skip
            service = ServiceFigures(server.pid if server else None)
            children[0].say("go")
            await children[0].expect("{", timeout=60)
            started = time.monotonic()
            for child in children[1:]:
                child.say("go")
            joins = [json.loads(await child.expect("{", timeout=120)) for child in children[1:]]
            join_seconds = time.monotonic() - started
            catch_up_seconds = await _caught_up(base)
            skipped_before = (await service_metrics(base))["giaoban_relay_packets_late_total"]
            service.mark()
            links_before = await _node_links(data_dir) if server and workers > 1 else None
            for child in children:
                child.say("mark")
            opened = time.monotonic()
            killed = None
            if kill_worker_after is not None and server is not None:
                await asyncio.sleep(kill_worker_after)
                service.mark()
                killed = await kill_an_edge_worker(server.pid, data_dir)
            await asyncio.sleep(max(0.0, seconds - (time.monotonic() - opened)))
            for child in children:
                child.say("stop")
            service.mark()
            links_after = await _node_links(data_dir) if server and workers > 1 else None
            skipped = (await service_metrics(base))["giaoban_relay_packets_late_total"] - skipped_before
            results = [json.loads(await child.expect("[", timeout=120)) for child in children]
            attendance = await attendance_of(base, meeting_id) if killed else []
        finally:
            for child in children:
                await child.stop()
            if server is not None:
                server.terminate()
                await server.wait()
    sent = results[0][0]["sent"] or 1
    participants = [r for group in results[1:] for r in group]
    for result in participants:
        result["unit"] = units_of[result.pop("link")]
    lost = max((r["lost"] / max(1, r["lost"] + r["packets"]) for r in participants), default=0.0)
    endpoints = 1 + districts + communes
    return {
        "endpoints": endpoints,
        "workers": workers if server else None,
        "endpoints_nice": nice,
        "server": server_url or "started here",
        "joined": 1 + sum(j["joined"] for j in joins),
        "join_seconds": round(max(join_seconds, *(j["seconds"] for j in joins)), 2),
        "min_frames_ratio": round(min((r["frames"] for r in participants), default=0) / sent, 3),
        "presentation": presentation,
        "link_start_kbps": (start_kbps or (2500 if presentation else None)) if server else None,
        "min_presentation_ratio": round(
            min((r["presentation"] for r in participants), default=0) / max(1, results[0][0]["screen_sent"]), 3
        )
        if presentation
        else None,
        "max_loss": round(lost, 4),
        **service.figures(endpoints),
        "catch_up_seconds": catch_up_seconds,  # None: the relay never caught up (it needs more CPU than it had)
        # in the window, on the node /metrics answered from (not known when a worker was killed: another answers)
        "relay_packets_skipped": None if killed else int(skipped),
        "chair_frames": sent,
        "chair_back_after": results[0][0]["back_after"],  # seconds each of its rejoins took (none: it stayed)
        "min_frames_ratio_by_process": [
            round(min((r["frames"] for r in group), default=0) / sent, 3) for group in results[1:]
        ],
        "node_links": None if killed else _link_figures(links_before, links_after),  # a killed node's counters are gone
        **(_failure_figures(killed, participants, attendance, sent) if killed else {}),
        "seconds": seconds,
        "join_failures": [failure for j in joins for failure in j["failures"]][:5],
    }


async def kill_an_edge_worker(parent: int, data_dir: str) -> dict[str, Any]:
    """SIGKILL the worker that carries the most endpoints without being the origin of the meeting: its units'
    sockets close, and they rejoin on a worker that lives (the parent starts a new one)."""
    nodes = [node for node in await _node_links(data_dir) if not node["origin_rooms"]]
    workers = worker_pids(parent)
    for node in sorted(nodes, key=lambda node: -node["endpoints"]):
        if node["pid"] in workers:
            os.kill(node["pid"], signal.SIGKILL)
            return {"node": node["node"], "endpoints": node["endpoints"]}
    raise RuntimeError(f"no worker to kill but the origin: {nodes}")


def _failure_figures(killed: dict[str, Any], participants: list[dict[str, Any]], attendance: list[dict[str, Any]],
                     sent: int) -> dict[str, Any]:  # fmt: skip
    """How the units of a killed worker came back (seconds from their socket's close to their media flowing on a
    live worker), how the others fared meanwhile, and what attendance says of each: one drop and one return for a
    unit that came back (two for one whose new socket dropped too), none for one that stayed, and no unit without
    its time. (The service's CPU figures count the killed worker until the kill and its successor from its start.)
    """
    back = sorted(r["back_after"][0] for r in participants if r["back_after"])
    stayed = [r for r in participants if not r["back_after"] and not r["away"]]
    rows = {row["unit"]: row for row in attendance}
    drops = {r["unit"]: len(r["back_after"]) + r["away"] for r in participants}  # as each unit lived them
    wrong = [(unit, row["drops"], drops.get(unit)) for unit, row in rows.items()
             if row["role"] != "chair" and row["drops"] != drops.get(unit, 0)]  # fmt: skip
    return {
        "killed_worker": killed,
        "units_back": len(back),
        "back_seconds_p50": back[len(back) // 2] if back else None,
        "back_seconds_max": back[-1] if back else None,
        "units_rejoined_twice": sum(1 for r in participants if len(r["back_after"]) > 1),
        "units_still_away": sum(1 for r in participants if r["away"]),
        "min_frames_ratio_of_units_kept": round(min((r["frames"] for r in stayed), default=0) / sent, 3),
        "attendance_units_without_time": [unit for unit, row in rows.items() if not row["connected_seconds"]],
        "attendance_drops_wrong": wrong[:10],  # (unit, drops it shows, drops the unit had) where they differ
    }


class ServiceFigures:
    """CPU and memory of the service's processes (the --workers parent and each worker), between the first and the
    last mark; a mark in between keeps the figures of a worker about to be killed."""

    def __init__(self, pid: int | None) -> None:
        self._pid = pid
        self._marks: list[tuple[float, dict[int, tuple[float, float]]]] = []
        self._rss_start: dict[int, tuple[float, float]] = self._read()[1] if pid else {}

    def _read(self) -> tuple[float, dict[int, tuple[float, float]]]:
        pids = [self._pid, *worker_pids(self._pid)] if self._pid else []
        return time.monotonic(), {pid: process_figures(pid) for pid in pids}

    def mark(self) -> None:
        if self._pid:
            self._marks.append(self._read())

    def figures(self, endpoints: int) -> dict[str, Any]:
        if len(self._marks) < 2:
            return {"relay_cpu_percent": None, "rss_mb_per_endpoint": None}  # a service elsewhere: its own figures
        (then, before), (now, after) = self._marks[0], self._marks[-1]
        spent: dict[int, float] = {}  # CPU seconds in the window: a worker killed in it until its last mark (taken
        for _, mark in self._marks:  # just before the kill), one started in it since its birth
            spent.update({pid: cpu - (before[pid][0] if pid in before else 0.0) for pid, (cpu, _) in mark.items()})
        per_process = {pid: 100 * cpu / (now - then) for pid, cpu in spent.items()}
        workers = [round(cpu, 1) for pid, cpu in per_process.items() if pid != self._pid]
        rss_start = sum(rss for _, rss in self._rss_start.values())
        return {
            "relay_cpu_percent": round(sum(per_process.values()), 1),
            "relay_cpu_percent_by_worker": workers or None,
            "rss_mb_per_endpoint": round((sum(rss for _, rss in after.values()) - rss_start) / endpoints, 2),
        }


async def _node_links(data_dir: str) -> list[dict[str, Any]]:
    """Each node's node-link counters, from the cluster's store (the embedded Valkey of ``data_dir``)."""
    store = Store(redis_url=None, data_dir=Path(data_dir))
    try:
        return [{"node": node.id, "pid": node.pid, **asdict(node.load)} for node in await list_nodes(store.redis)]
    finally:
        await store.redis.aclose()


def _link_figures(before: list[dict[str, Any]] | None, after: list[dict[str, Any]] | None) -> Any:
    if before is None or after is None:
        return None
    earlier = {node["node"]: node for node in before}
    return [{"node": node["node"], "endpoints": node["endpoints"], "origin_rooms": node["origin_rooms"],
             "publications_in": node["link_publications_in"], "publications_out": node["link_publications_out"],
             "packets_in": node["link_packets_in"] - earlier.get(node["node"], node)["link_packets_in"],
             "packets_out": node["link_packets_out"] - earlier.get(node["node"], node)["link_packets_out"]}
            for node in after]  # fmt: skip


async def start_service(data_dir: str, port: int, workers: int = 1, *extra: str) -> asyncio.subprocess.Process:
    """``giaoban serve --demo`` on a temporary data dir, quiet: the service a benchmark measures."""
    output = _service_output()
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "web", "serve", "--demo", "--data-dir", data_dir, "--port", str(port),
        "--workers", str(workers), "--log-level", "WARNING" if output == asyncio.subprocess.DEVNULL else "INFO",
        *extra, stdout=output, stderr=asyncio.subprocess.STDOUT)  # fmt: skip


def _service_output() -> Any:
    """GIAOBAN_BENCH_SERVICE_LOG=FILE keeps what the service says there, at INFO, for a run being looked into."""
    kept = os.environ.get("GIAOBAN_BENCH_SERVICE_LOG")
    return open(kept, "a") if kept else asyncio.subprocess.DEVNULL  # the child holds it


async def _caught_up(base: str, limit: float = 60.0) -> float | None:
    """Seconds until the relay has worked off the join storm: its /metrics say it handles the chair's packets
    within 0.1 s of their quickest for 3 s running, and everyone had time for a keyframe. None if it never does
    within ``limit``: the window is measured all the same, and shows what a server short of CPU delivers."""
    started = time.monotonic()
    on_time = 0
    while time.monotonic() - started < limit:
        await asyncio.sleep(1)
        behind = (await service_metrics(base))["giaoban_relay_behind_seconds"]
        on_time = on_time + 1 if behind < 0.1 else 0
        if on_time >= 3:
            return round(time.monotonic() - started, 1)
    return None


async def wait_healthy(base: str) -> None:
    async with ClientSession() as http:
        for _ in range(300):
            try:
                if (await http.get(f"{base}/healthz")).status == 200:
                    return
            except OSError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the service did not start")


def markdown(result: dict[str, Any], command: str) -> str:
    rows = "\n".join(f"| {key} | {value} |" for key, value in result.items())
    return f"# {command}\n\n| figure | value |\n|---|---|\n{rows}\n"
