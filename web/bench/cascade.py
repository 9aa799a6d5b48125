"""``giaoban bench cascade``: what a meeting's edge costs, and what the extra hop adds.

Two ``giaoban serve`` processes on one Redis (an embedded Valkey the bench starts): the **origin** holds the room
(the chair joins it), the **edge** carries N communes (participant processes, 25 endpoints each, at the lowest CPU
priority, as in the province bench). The chair's picture crosses the node link once and the edge fans it out.

Figures: the edge's CPU per commune, the node link's packets and kbit/s into the edge, the share of the chair's
frames each commune got, and the latency the extra hop adds: two more communes, in this process, one on the origin
and one on the edge, note when each of the chair's frames arrives (a frame is known by a checksum of its bytes,
which both relays forward as they came); the differences, on this one machine's clock, are the hop's cost.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientSession

from scheduler.store.embedded import EmbeddedValkey
from web.bench.clips import audio_clip, video_clip
from web.bench.endpoint import SyntheticEndpoint
from web.bench.metrics import service_metrics
from web.bench.province import PER_PROCESS, plan, process_figures, wait_healthy
from web.bench.relay import Child, free_port
from web.bench.units import join_by_link

MATCH_WINDOW = 1.0  # seconds: the same frame through both relays arrives within this; a clip repeats after 4 s


async def bench(communes: int, seconds: float, *, nice: int = 19) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        store = EmbeddedValkey(Path(folder) / "store")
        await store.start()
        servers: list[asyncio.subprocess.Process] = []
        children: list[Child] = []
        probes: list[SyntheticEndpoint] = []
        http = ClientSession()
        try:
            origin, edge = free_port(), free_port()
            servers = [await _serve(folder, "origin", origin, store.url, "--demo"),
                       await _serve(folder, "edge", edge, store.url)]  # fmt: skip
            bases = {name: f"http://127.0.0.1:{port}" for name, port in (("origin", origin), ("edge", edge))}
            for base in bases.values():
                await wait_healthy(base)
            links = await plan(bases["origin"], 1, communes + 2)
            chair = [links.pop("tinh")]
            links.pop("h00")  # the district: not in this meeting's load
            units = sorted(links)
            probe_links, commune_links = [links[u] for u in units[:2]], [links[u] for u in units[2:]]
            children.append(await _endpoints(folder, "chair", bases["origin"], chair, nice))
            for start in range(0, len(commune_links), PER_PROCESS):
                group = commune_links[start : start + PER_PROCESS]
                children.append(await _endpoints(folder, "participant", bases["edge"], group, nice))
            for child in children:
                child.say("go")
            joins = [json.loads(await child.expect("{", timeout=120)) for child in children]
            probes, sockets = await _probes(http, bases, probe_links)
            await asyncio.sleep(3)  # the join storm settles, the link carries every size
            before = {name: await service_metrics(base) for name, base in bases.items()}
            cpu_before, then = [process_figures(s.pid)[0] for s in servers], time.monotonic()
            for probe in probes:
                assert probe.arrived is not None
                probe.arrived.clear()
            for child in children:
                child.say("mark")
            await asyncio.sleep(seconds)
            for child in children:
                child.say("stop")
            cpu_after, elapsed = [process_figures(s.pid)[0] for s in servers], time.monotonic() - then
            after = {name: await service_metrics(base) for name, base in bases.items()}
            results = [json.loads(await child.expect("[", timeout=120)) for child in children]
            delays = _extra_hop(probes[0], probes[1])
            for ws, reader in sockets:
                await ws.close()
                reader.cancel()
        finally:
            for probe in probes:
                await probe.close()
            await http.close()
            for child in children:
                await child.stop()
            for server in servers:
                server.terminate()
                await server.wait()
            await store.stop()
    sent = results[0][0]["sent"] or 1
    participants = [r for group in results[1:] for r in group]
    origin_cpu, edge_cpu = (100 * (a - b) / elapsed for a, b in zip(cpu_after, cpu_before, strict=True))

    def grew(node: str, name: str) -> float:
        return (after[node].get(name, 0.0) - before[node].get(name, 0.0)) / elapsed

    link_in = 'giaoban_node_link_{}_total{{direction="in"}}'
    link_out = 'giaoban_node_link_{}_total{{direction="out"}}'
    return {
        "communes_on_edge": len(commune_links) + 1,  # the probe there too
        "joined": sum(j["joined"] for j in joins[1:]),
        "seconds": seconds,
        "endpoints_nice": nice,
        "min_frames_ratio": round(min((r["frames"] for r in participants), default=0) / sent, 3),
        "max_loss": round(max((r["lost"] / max(1, r["lost"] + r["packets"]) for r in participants), default=0), 4),
        "origin_cpu_percent": round(origin_cpu, 1),
        "edge_cpu_percent": round(edge_cpu, 1),
        "edge_cpu_percent_per_commune": round(edge_cpu / (len(commune_links) + 1), 2),
        "link_publications_into_edge": after["edge"].get('giaoban_node_link_publications{direction="in"}'),
        "link_packets_per_second": round(grew("edge", link_in.format("packets")), 1),
        "link_kbps": round(grew("edge", link_in.format("bytes")) * 8 / 1000, 1),
        "link_publications_out_of_edge": after["edge"].get('giaoban_node_link_publications{direction="out"}'),
        "link_out_packets_per_second": round(grew("edge", link_out.format("packets")), 1),
        "link_out_kbps": round(grew("edge", link_out.format("bytes")) * 8 / 1000, 1),
        "edge_packets_received_per_second": round(grew("edge", "giaoban_relay_packets_received_total"), 1),
        "edge_packets_forwarded_per_second": round(grew("edge", "giaoban_relay_packets_forwarded_total"), 1),
        "origin_packets_received_per_second": round(grew("origin", "giaoban_relay_packets_received_total"), 1),
        "origin_packets_forwarded_per_second": round(grew("origin", "giaoban_relay_packets_forwarded_total"), 1),
        "link_rtt_ms": _rtt_ms(after["origin"]),
        "extra_hop_ms_p50": round(statistics.median(delays), 2) if delays else None,
        "extra_hop_ms_p95": round(statistics.quantiles(delays, n=20)[-1], 2) if len(delays) >= 20 else None,
        "frames_matched": len(delays),
    }


async def _serve(folder: str, node: str, port: int, redis_url: str, *extra: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "web", "serve", "--workers", "1", "--data-dir", str(Path(folder) / node),
        "--port", str(port), "--redis-url", redis_url, "--node-id", node, "--log-level", "WARNING", *extra,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)  # fmt: skip


async def _endpoints(folder: str, role: str, base: str, links: list[str], nice: int) -> Child:
    path = Path(folder) / f"links-{role}-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(links))
    return await Child.start("endpoints", role, base, str(path), module="web.bench.units", nice=nice)


async def _probes(http: ClientSession, bases: dict[str, str],
                  links: list[str]) -> tuple[list[SyntheticEndpoint], list[Any]]:  # fmt: skip
    """A commune on the origin and one on the edge, noting when each of the chair's frames arrives (their sockets
    live as long as ``http``)."""
    clips = {"audio": audio_clip(), "video": video_clip(width=160, height=120, seconds=2, keyframe_every=60),
             "video-small": video_clip(width=160, height=120, seconds=2, keyframe_every=60)}  # fmt: skip
    probes = [SyntheticEndpoint("participant", clips, timed=True) for _ in links]
    sockets = []
    for node, url, probe in zip(("origin", "edge"), links, probes, strict=True):
        sockets.append(await join_by_link(http, bases[node], url, "participant", probe))
        await probe.wait_connected(30)
    return probes, sockets


def _extra_hop(direct: SyntheticEndpoint, edged: SyntheticEndpoint) -> list[float]:
    """Milliseconds between a frame's arrival through the origin alone and through origin and edge."""
    assert direct.arrived is not None and edged.arrived is not None
    first: dict[int, list[float]] = {}
    for at, checksum in direct.arrived.get("chair-video", []):
        first.setdefault(checksum, []).append(at)
    delays = []
    for at, checksum in edged.arrived.get("chair-video", []):
        near = [then for then in first.get(checksum, []) if abs(at - then) < MATCH_WINDOW]
        if near:
            delays.append(1000 * (at - min(near, key=lambda then: abs(at - then))))
    return delays


def _rtt_ms(origin: dict[str, float]) -> float | None:
    value = origin.get('giaoban_node_link_rtt_seconds{node="edge"}')
    return round(value * 1000, 2) if value is not None else None


def markdown(result: dict[str, Any], command: str) -> str:
    rows = "\n".join(f"| {name} | {value} |" for name, value in result.items())
    return f"# {command}\n\n| figure | value |\n|---|---|\n{rows}\n"
