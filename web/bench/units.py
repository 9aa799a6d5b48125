"""The synthetic units of the benchmarks: processes of up to 25 endpoints that join a meeting by their links through
``/ws`` as pages do, all at once, publish what pages publish, count what they receive, and rejoin when their socket
closes (``BenchUnit``). ``giaoban bench province`` starts them (``python -m web.bench.units``) and reads their
counts; ``join_by_link`` serves the other benchmarks too.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp import ClientError, ClientSession, ClientWebSocketResponse, WSMsgType

from web.bench.clips import audio_clip, video_clip
from web.bench.endpoint import SocketReader, SyntheticEndpoint


async def join_by_link(http: ClientSession, base: str, url: str, role: str, endpoint: SyntheticEndpoint,
                       rejoin: bool = False) -> tuple[ClientWebSocketResponse, asyncio.Task[None]]:  # fmt: skip
    ws = await http.ws_connect(base.replace("http", "ws") + "/ws", heartbeat=None)
    await ws.send_json({"type": "join", "token": url.rsplit("/", 1)[1], "name": "Cán bộ", "position": role,
                        "rejoin": rejoin})  # fmt: skip
    answers: asyncio.Queue[str] = asyncio.Queue()
    welcomed = asyncio.get_running_loop().create_future()

    async def read(ws: ClientWebSocketResponse) -> None:
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                break
            message = json.loads(frame.data)
            if message["type"] == "welcome" and not welcomed.done():
                welcomed.set_result(message)
            elif message["type"] == "answer":
                answers.put_nowait(message["sdp"])
            elif message["type"] == "publish":  # as the page does: send only what someone receives
                endpoint.set_sending(message["track"], message["on"])
            elif message["type"] == "error" and not welcomed.done():
                welcomed.set_exception(RuntimeError(message["message"]))

    reader = asyncio.create_task(read(ws))
    try:
        await asyncio.wait_for(welcomed, 30)
    except BaseException:  # refused or not answered: nothing of this attempt stays open
        reader.cancel()
        await ws.close()
        raise

    async def answer(sdp: str) -> str:
        await ws.send_json({"type": "offer", "sdp": sdp})
        return await asyncio.wait_for(answers.get(), 60)

    await endpoint.connect(answer)
    return ws, reader


def counts(endpoint: SyntheticEndpoint) -> dict[str, int]:
    """What one endpoint counted so far: the chair's frames it received, the presentation's, what it lost and got,
    and what it sent (frames of each of its pictures, of its slides)."""
    lost, got = endpoint.loss()
    sent = {f"sent {name}": track.sent for name, track in endpoint.tracks.items() if name.startswith("video")}
    return {"frames": endpoint.received.get("chair-video", 0), "presentation": endpoint.received.get("presentation", 0),
            "screen_sent": endpoint.tracks["screen"].sent if "screen" in endpoint.tracks else 0, "lost": lost,
            "packets": got, **sent}  # fmt: skip


def window(now: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    """What a unit counted in a window. The frames its camera sent are those of the size sent the most in it (one
    frame rate for all; a size nobody receives is paused)."""
    grew = {key: value - before.get(key, 0) for key, value in now.items()}
    sent = [value for key, value in grew.items() if key.startswith("sent ")]
    return {**{k: v for k, v in grew.items() if not k.startswith("sent ")}, "sent": max(sent, default=0)}


class BenchUnit:
    """One unit as its page keeps it: joined by its link, and joined again (``rejoin``) when its socket closes, after
    1, 2, 4 … 10 s as the page waits. What it counts adds up over its connections."""

    def __init__(self, role: str, link: str, make: Callable[[], SyntheticEndpoint]) -> None:
        self.role, self.link, self._make = role, link, make
        self.endpoint = make()
        self.back_after: list[float] = []  # seconds from each drop until its media flowed again
        self.away = False  # dropped, and not back yet
        self._retired: dict[str, int] = {}  # what its earlier connections counted
        self._socket: tuple[ClientWebSocketResponse, asyncio.Task[None]] | None = None
        self._stopping = False

    async def join(self, http: ClientSession, base: str) -> None:
        self._socket = await join_by_link(http, base, self.link, self.role, self.endpoint)
        await self.endpoint.wait_connected(60)

    def totals(self) -> dict[str, int]:
        now = counts(self.endpoint)
        return {key: self._retired.get(key, 0) + now.get(key, 0) for key in {*self._retired, *now}}

    async def keep(self, http: ClientSession, base: str) -> None:
        """Until ``close``: whenever its socket closes, join again as the page does."""
        while not self._stopping and self._socket is not None:
            await asyncio.wait([self._socket[1]])  # the socket's reader: it ends when the socket closes
            if self._stopping:
                return
            dropped, self.away = time.monotonic(), True
            self._retired = self.totals()
            await self.endpoint.close()
            for attempt in itertools.count():
                await asyncio.sleep(min(10, 2**attempt) * random.uniform(0.5, 1.5))  # as the page spreads them
                self.endpoint = self._make()
                try:
                    self._socket = await join_by_link(http, base, self.link, self.role, self.endpoint, rejoin=True)
                    await self.endpoint.wait_connected(30)
                    break
                except (OSError, RuntimeError, TimeoutError, ClientError):  # refused, limited, or not answered
                    await self.endpoint.close()
            self.back_after.append(round(time.monotonic() - dropped, 2))
            self.away = False

    def endpoint_socket(self) -> ClientWebSocketResponse:
        assert self._socket is not None, "joined"
        return self._socket[0]

    async def close(self) -> None:
        """Leave, as the page's button does: attendance says left, not dropped."""
        self._stopping = True
        if self._socket is not None:
            ws, reader = self._socket
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_json({"type": "leave"})
            await asyncio.wait([reader], timeout=5)  # the server closes the socket once it has noted it
            await ws.close()
            reader.cancel()
        await self.endpoint.close()


async def run_endpoints(role: str, base: str, links: list[str], presentation: bool = False) -> None:
    # The chair's three sizes (the relay gives each line the one it carries: here, every line is fast); with
    # ``presentation``, its slides too, shared from the start
    clips = {"audio": audio_clip(),
             "video": video_clip(width=640, height=480, seconds=4, keyframe_every=120, bitrate_kbps=1000, noise=True),
             "video-medium": video_clip(width=480, height=360, seconds=4, keyframe_every=120, bitrate_kbps=420,
                                        noise=True),
             "video-small": video_clip(width=320, height=240, seconds=4, keyframe_every=120, bitrate_kbps=140,
                                       noise=True)}  # fmt: skip
    if presentation:
        clips["screen"] = video_clip(width=1280, height=720, fps=10, seconds=4, keyframe_every=50, bitrate_kbps=450,
                                     noise=True)  # fmt: skip
    counting = SocketReader() if role != "chair" else None
    # Participants publish a picture in two sizes and a voice, as browsers do; the relay has them pause what nobody
    # receives (all voices, every full picture but the floor's, every small one but the twelve on the console page).
    participant_clips = {"audio": clips["audio"],
                         "video": video_clip(width=320, height=240, seconds=2, keyframe_every=60, bitrate_kbps=400,
                                             noise=True),
                         "video-small": video_clip(width=160, height=120, seconds=2, keyframe_every=60,
                                                   bitrate_kbps=140, noise=True)}  # fmt: skip
    published = clips if role == "chair" else participant_clips
    units = [BenchUnit(role, link, lambda: SyntheticEndpoint(role, published, count_headers=counting))
             for link in links]  # fmt: skip
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # "go": everyone at once
    started = time.monotonic()
    async with ClientSession() as http:
        attempts = await asyncio.gather(*(unit.join(http, base) for unit in units), return_exceptions=True)
        joined_after = time.monotonic() - started
        failures = [repr(r) for r in attempts if isinstance(r, BaseException)]
        units = [unit for unit, attempt in zip(units, attempts, strict=True) if not isinstance(attempt, BaseException)]
        keeping = [asyncio.create_task(unit.keep(http, base)) for unit in units]
        if presentation and role == "chair":
            for unit in units:
                await unit.endpoint_socket().send_json({"type": "share", "on": True})
        print(json.dumps({"joined": len(units), "seconds": joined_after, "failures": failures[:3]}), flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)  # "mark": the window opens
        before = [unit.totals() for unit in units]
        await loop.run_in_executor(None, sys.stdin.readline)  # "stop": the window closes
        result = [{**window(unit.totals(), counted), "link": unit.link, "back_after": unit.back_after,
                   "away": unit.away}
                  for unit, counted in zip(units, before, strict=True)]  # fmt: skip
        print(json.dumps(result), flush=True)
        for task in keeping:
            task.cancel()
        for unit in units:
            await unit.close()
    if counting is not None:
        counting.close()


if __name__ == "__main__":
    asyncio.run(
        run_endpoints(
            sys.argv[2],
            sys.argv[3],
            json.loads(Path(sys.argv[4]).read_text()),
            presentation="presentation" in sys.argv[5:],
        )
    )
