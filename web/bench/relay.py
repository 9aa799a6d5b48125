"""``giaoban bench relay``: CPU per subscriber of our decode-free relay against aiortc's ``MediaRelay``, same run.

Three kinds of process, started here and stopped by themselves: the relay (a tiny HTTP server that answers offers),
one publisher (a chair sending a pre-encoded VP8 clip and Opus), and the subscribers (aiortc endpoints counting
the frames that reach them, without decoding). CPU is the relay process's own user+system time over the measured
window; frames and loss are what the subscribers saw in that window.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import time
from typing import Any

from aiohttp import ClientSession, web
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

from conference.layout import Source, kind_of, publishes, slots
from conference.relay.peer import MediaPeer, media_configuration
from conference.relay.relay import Relay
from web.bench.clips import audio_clip, video_clip
from web.bench.endpoint import SocketReader, SyntheticEndpoint

FPS = 30
SUBSCRIBERS_PER_PROCESS = 25


# --- the relay process ---------------------------------------------------------------------------------------------


class DecodeFreeRelay:
    def __init__(self) -> None:
        self.relay = Relay()
        self.peers: list[MediaPeer] = []

    async def answer(self, connection: str, role: str, sdp: str) -> str:
        peer = MediaPeer(self.relay, connection=connection, role=role, ice_servers=[])
        self.peers.append(peer)
        answer = await peer.answer(sdp)
        if role == "participant":
            peer.forward({"chair-audio": Source("chair", "audio"), "chair-video": Source("chair", "video")})
        return answer


class MediaRelayRelay:
    """What every aiortc example does: decode the publisher once, re-encode for each subscriber."""

    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.tracks: dict[str, Any] = {}
        self.pcs: list[RTCPeerConnection] = []

    async def answer(self, connection: str, role: str, sdp: str) -> str:
        pc = RTCPeerConnection(media_configuration([]))
        self.pcs.append(pc)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        names = [*publishes(role), *slots(role)]
        for name, transceiver in zip(names, pc.getTransceivers(), strict=True):
            if role == "chair" and name in ("audio", "video"):
                self.tracks[name] = transceiver.receiver.track
            elif role == "participant" and name in ("chair-audio", "chair-video"):
                transceiver.sender.replaceTrack(self.relay.subscribe(self.tracks[kind_of(name)]))
                transceiver.direction = "sendonly"
        await pc.setLocalDescription(await pc.createAnswer())
        return str(pc.localDescription.sdp)


async def serve_relay(mode: str, port: int) -> None:
    relay: DecodeFreeRelay | MediaRelayRelay = DecodeFreeRelay() if mode == "relay" else MediaRelayRelay()

    async def offer(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"sdp": await relay.answer(body["connection"], body["role"], body["sdp"])})

    async def cpu(_: web.Request) -> web.Response:
        return web.json_response({"cpu": time.process_time(), "at": time.monotonic()})

    app = web.Application()
    app.router.add_post("/offer", offer)
    app.router.add_get("/cpu", cpu)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # until the bench says stop
    await runner.cleanup()


# --- endpoint processes ----------------------------------------------------------------------------------------------


async def run_endpoints(role: str, count: int, port: int, first: int) -> None:
    clips = {"audio": audio_clip(), "video": video_clip(width=640, height=480, seconds=4, keyframe_every=120,
                                                        bitrate_kbps=900)}  # fmt: skip
    endpoints = []
    counting = SocketReader() if role != "chair" else None
    async with ClientSession() as http:
        for index in range(first, first + count):
            endpoint = SyntheticEndpoint(role, clips, publish=role == "chair", count_headers=counting)
            name = "chair" if role == "chair" else f"s{index}"

            async def answer(sdp: str, name: str = name) -> str:
                async with http.post(f"http://127.0.0.1:{port}/offer",
                                     json={"connection": name, "role": role, "sdp": sdp}) as response:  # fmt: skip
                    return str((await response.json())["sdp"])

            await endpoint.connect(answer)
            endpoints.append(endpoint)
        for endpoint in endpoints:
            await endpoint.wait_connected(30)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # "go"
    start = [dict(e.received) for e in endpoints]
    start_loss = [e.loss() for e in endpoints]
    await loop.run_in_executor(None, sys.stdin.readline)  # "stop"
    result = []
    for endpoint, before, (lost_before, got_before) in zip(endpoints, start, start_loss, strict=True):
        lost, got = endpoint.loss()
        frames = endpoint.received.get("chair-video", 0) - before.get("chair-video", 0)
        sent = endpoint.tracks["video"].sent if role == "chair" else None
        result.append({"frames": frames, "lost": lost - lost_before, "packets": got - got_before, "sent": sent})
    print(json.dumps(result), flush=True)
    for endpoint in endpoints:
        await endpoint.close()
    if counting is not None:
        counting.close()


# --- the bench ----------------------------------------------------------------------------------------------------


class Child:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, *args: str, module: str = "web.bench.relay", nice: int = 0) -> Child:
        """``nice``: the load generator's CPU priority (19: the lowest), so that the service gets what a
        dedicated server would give it."""
        pipe, lower = asyncio.subprocess.PIPE, (lambda: os.nice(nice)) if nice else None
        process = await asyncio.create_subprocess_exec(sys.executable, "-m", module, *args, stdin=pipe, stdout=pipe,
                                                       preexec_fn=lower)  # fmt: skip
        child = cls(process)
        await child.expect("ready", timeout=120)
        return child

    async def expect(self, word: str, timeout: float) -> str:
        assert self.process.stdout is not None
        while True:
            line = (await asyncio.wait_for(self.process.stdout.readline(), timeout)).decode().strip()
            if not line and self.process.stdout.at_eof():
                raise RuntimeError(f"bench process ended early (exit {await self.process.wait()})")
            if line.startswith(word) or (word == "[" and line.startswith("[")):
                return line

    def say(self, word: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{word}\n".encode())

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.say("stop")
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def measure(mode: str, subscribers: int, seconds: float, port: int) -> dict[str, float]:
    relay = await Child.start("relay", mode, str(port))
    children: list[Child] = []
    try:
        publisher = await Child.start("endpoints", "chair", "1", str(port), "0")
        children.append(publisher)
        for first in range(0, subscribers, SUBSCRIBERS_PER_PROCESS):
            count = min(SUBSCRIBERS_PER_PROCESS, subscribers - first)
            children.append(await Child.start("endpoints", "participant", str(count), str(port), str(first)))
        await asyncio.sleep(2)  # settle: first keyframes, bitrate estimates
        async with ClientSession() as http:
            before = await (await http.get(f"http://127.0.0.1:{port}/cpu")).json()
            for child in children:
                child.say("go")
            await asyncio.sleep(seconds)
            after = await (await http.get(f"http://127.0.0.1:{port}/cpu")).json()
        results = []
        for child in children:
            child.say("stop")
            results.append(json.loads(await child.expect("[", timeout=60)))
        sent = results[0][0]["sent"] or 1
        expected = FPS * seconds
        seen = [r for group in results[1:] for r in group]
        cpu_percent = 100 * (after["cpu"] - before["cpu"]) / (after["at"] - before["at"])
        mean_ratio = sum(r["frames"] for r in seen) / len(seen) / expected
        lost = sum(r["lost"] for r in seen)
        packets = sum(r["packets"] for r in seen)
        return {
            "cpu_percent": round(cpu_percent, 1),
            "cpu_per_subscriber": round(cpu_percent / subscribers, 3),
            "min_frames_ratio": round(min(r["frames"] for r in seen) / expected, 3),
            "mean_frames_ratio": round(mean_ratio, 3),
            # A relay that cannot keep up spends its CPU on fewer frames: what it would need to feed every frame.
            "cpu_per_subscriber_full_rate": round(cpu_percent / subscribers / max(min(mean_ratio, 1.0), 0.01), 3),
            "loss": round(lost / max(1, lost + packets), 4),
            "publisher_frames": sent,
        }
    finally:
        for child in children:
            await child.stop()
        await relay.stop()


def free_port() -> int:
    """A port and the next one, both free now (one relay process per measurement)."""
    while True:
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port


def markdown(result: dict[str, Any], command: str) -> str:
    lines = [f"# {command}", "", "| relay | CPU % (one core = 100) | CPU % per subscriber | min frames ratio | "
             "mean frames ratio | CPU % per subscriber at full frame rate | loss |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for name in ("relay", "mediarelay"):
        r = result[name]
        lines.append(f"| {name} | {r['cpu_percent']} | {r['cpu_per_subscriber']} | {r['min_frames_ratio']} | "
                     f"{r['mean_frames_ratio']} | {r['cpu_per_subscriber_full_rate']} | {r['loss']} |")  # fmt: skip
    lines += [
        "",
        f"MediaRelay needs **{result['ratio']}×** the CPU per subscriber of the decode-free relay "
        f"({result['ratio_full_rate']}× to feed every frame: a relay that cannot keep up delivers fewer).",
    ]
    return "\n".join(lines) + "\n"


async def bench(subscribers: int, seconds: float, port: int) -> dict[str, Any]:
    ours = await measure("relay", subscribers, seconds, port)
    theirs = await measure("mediarelay", subscribers, seconds, port + 1)
    ratio = theirs["cpu_per_subscriber"] / max(ours["cpu_per_subscriber"], 1e-6)
    ratio_full_rate = theirs["cpu_per_subscriber_full_rate"] / max(ours["cpu_per_subscriber_full_rate"], 1e-6)
    return {"subscribers": subscribers, "seconds": seconds, "relay": ours, "mediarelay": theirs,
            "ratio": round(ratio, 1), "ratio_full_rate": round(ratio_full_rate, 1)}  # fmt: skip


if __name__ == "__main__":
    what = sys.argv[1]
    if what == "relay":
        asyncio.run(serve_relay(sys.argv[2], int(sys.argv[3])))
    else:
        asyncio.run(run_endpoints(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])))
