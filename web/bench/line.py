"""``giaoban bench line``: what a commune on a given line gets from a real meeting, second by second.

The service runs as ``giaoban serve`` with its demo province; a chair publishes its picture in three sizes (busy,
pre-encoded VP8 at about their caps) and a voice; one commune joins from inside a network namespace whose line is
held to ``--rate`` kbit/s with ``--loss`` % random loss (netns.py), its signaling over ``/ws`` as a page's would. The
report says, for each second and for the whole window: the chair's frames the commune got, the longest freeze, the
share of its voice, the size of the picture, what the relay said of the line, and whether any video packet reached
a commune the relay had put on audio only. With ``--then KBPS:SECONDS`` (repeatable) the line changes on the way (a
line that falls to 150 kbit/s and is restored): each phase also says when the commune went audio only and when the
full picture came back, and whether it stayed. Needs root. Everything stops by itself.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, ClientWebSocketResponse, CookieJar, WSMsgType

from conference.layout import CHAIR_LAYERS
from web.bench.clips import Clip, audio_clip, video_clip
from web.bench.endpoint import SyntheticEndpoint
from web.bench.netns import CommuneLine, commune_line
from web.bench.province import plan_demo_meeting, start_service, wait_healthy
from web.bench.relay import free_port

AUDIO_FRAMES_PER_SECOND = 50  # Opus, 20 ms a frame
FREEZE_SECONDS = 2.0


def chair_clips() -> dict[str, Clip]:
    """The chair's voice and three sizes of a busy picture, encoded near each size's cap: the relay must choose."""
    sizes = {layer.track: layer for layer in CHAIR_LAYERS}
    return {"audio": audio_clip(),
            "video": video_clip(width=640, height=360, seconds=2, keyframe_every=60,
                                bitrate_kbps=sizes["video"].kbps - 100, noise=True),
            "video-medium": video_clip(width=480, height=270, seconds=2, keyframe_every=60,
                                       bitrate_kbps=sizes["video-medium"].kbps - 50, noise=True),
            "video-small": video_clip(width=320, height=180, seconds=2, keyframe_every=60,
                                      bitrate_kbps=sizes["video-small"].kbps - 20, noise=True)}  # fmt: skip


SIZE_NAMES = {640: "video", 480: "video-medium", 320: "video-small"}  # the chair_clips() widths
FULL_WIDTH = 640
FLOWING_FRAMES = 10  # whole frames in the last second for a picture to count as shown


@dataclass(frozen=True)
class Phase:
    """A stretch of the run on one line: its rate (None: not held) for so many seconds."""

    kbps: int | None
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Phase:
        """``KBPS:SECONDS``, as ``--then`` takes it (0 kbit/s: the line not held)."""
        rate, _, seconds = text.partition(":")
        return cls(int(rate) or None, float(seconds))


@dataclass
class ShapedCommune:
    """The commune endpoint (web.bench.commune) inside a line's namespace, its signaling on a joined ``/ws``."""

    process: asyncio.subprocess.Process
    ws: ClientWebSocketResponse
    reports: list[dict[str, Any]] = field(default_factory=list)  # what its slots received, four times a second
    links: list[tuple[float, str]] = field(default_factory=list)  # (when, level) as the relay told it
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def join(cls, ws: ClientWebSocketResponse, line: CommuneLine) -> ShapedCommune:
        process = await asyncio.create_subprocess_exec(
            *line.exec(sys.executable, "-m", "web.bench.commune"), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE)  # fmt: skip
        assert process.stdout is not None and process.stdin is not None
        offer = json.loads((await asyncio.wait_for(process.stdout.readline(), 60)) or b"{}")["offer"]
        commune = cls(process, ws)
        answers: asyncio.Queue[str] = asyncio.Queue()
        commune._tasks.append(asyncio.create_task(commune._listen(answers)))
        await ws.send_json({"type": "offer", "sdp": offer})
        process.stdin.write((json.dumps({"answer": await asyncio.wait_for(answers.get(), 15)}) + "\n").encode())
        commune._tasks.append(asyncio.create_task(commune._read_reports()))
        return commune

    def latest(self) -> dict[str, Any]:
        return self.reports[-1] if self.reports else {"at": time.time(), "received": {}, "whole": {}, "packets": {},
                                                      "sizes": {}}  # fmt: skip

    async def wait_for(self, wanted: Any, timeout: float, what: str = "") -> dict[str, Any]:
        """The first report (from now) for which ``wanted(report)`` holds."""
        start = len(self.reports)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for report in self.reports[start:]:
                if wanted(report):
                    return report
            await asyncio.sleep(0.1)
        raise AssertionError(f"{what or 'wanted'} not seen in {timeout} s; latest {self.latest()}; {self.links}")

    def level_now(self) -> str:
        return self.links[-1][1] if self.links else "good"

    async def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        for task in self._tasks:
            task.cancel()
        await self.ws.close()

    async def _listen(self, answers: asyncio.Queue[str]) -> None:
        """Reads the socket as a page does (the server's pings are answered only while someone reads)."""
        async for frame in self.ws:
            if frame.type != WSMsgType.TEXT:
                break
            message = json.loads(frame.data)
            if message["type"] == "answer":
                answers.put_nowait(message["sdp"])
            elif message["type"] == "link":
                self.links.append((time.time(), message["quality"]))

    async def _read_reports(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.reports.append(json.loads(line))


def window(reports: list[dict[str, Any]], start: float, end: float) -> dict[str, Any]:
    """What the commune got between two times (Unix seconds): the chair's picture and voice."""
    inside = [r for r in reports if start <= r["at"] <= end]
    if len(inside) < 2:
        return {"seconds": 0.0, "video_packets": 0}
    first, last = inside[0], inside[-1]
    seconds = last["at"] - first["at"]

    def grew(report: dict[str, Any], key: str, slot: str) -> int:
        return int(report[key].get(slot, 0)) - int(first[key].get(slot, 0))

    freeze, frozen_since = 0.0, first["at"]
    for before, after in itertools.pairwise(inside):
        if after["whole"].get("chair-video", 0) > before["whole"].get("chair-video", 0):
            frozen_since = after["at"]
        freeze = max(freeze, after["at"] - frozen_since)
    width = (last["sizes"].get("chair-video") or [0])[0]
    return {
        "seconds": round(seconds, 1),
        "fps": round(grew(last, "whole", "chair-video") / seconds, 1),  # frames that arrived whole
        "longest_freeze_seconds": round(freeze, 1),
        "audio_share": round(grew(last, "packets", "chair-audio") / seconds / AUDIO_FRAMES_PER_SECOND, 3),
        "audio_concealed": round(_concealed(first, last), 3),  # what Opus FEC could not recover
        "video_packets": grew(last, "packets", "chair-video"),
        # the size of the latest key frame, if any of the picture came in the window (audio only: none)
        "picture": SIZE_NAMES.get(width, f"{width} wide") if width and grew(last, "packets", "chair-video") else "none",
    }


def flowing_at(reports: list[dict[str, Any]], wanted_width: int, since: float) -> float | None:
    """The first time from ``since`` at which the picture of that width had been arriving for a second."""
    return next((float(report["at"]) for index, report in enumerate(reports)
                 if report["at"] >= since and _flowing(reports, index, wanted_width)), None)  # fmt: skip


def flowing_before(reports: list[dict[str, Any]], wanted_width: int, at: float) -> bool:
    """Whether the picture of that width was arriving in the second before ``at``."""
    index = next((i for i in range(len(reports) - 1, -1, -1) if reports[i]["at"] <= at), None)
    return index is not None and _flowing(reports, index, wanted_width)


def _flowing(reports: list[dict[str, Any]], index: int, wanted_width: int) -> bool:
    report = reports[index]
    if (report["sizes"].get("chair-video") or [0])[0] != wanted_width:
        return False
    before = next((r for r in reversed(reports[:index]) if r["at"] <= report["at"] - 1), None)
    if before is None:
        return False
    return bool(report["whole"].get("chair-video", 0) - before["whole"].get("chair-video", 0) >= FLOWING_FRAMES)


def _concealed(first: dict[str, Any], last: dict[str, Any]) -> float:
    before, after = first.get("voice", {}).get("chair-audio", [0, 0]), last.get("voice", {}).get("chair-audio", [0, 0])
    expected = after[0] - before[0]
    return (after[1] - before[1]) / expected if expected > 0 else 0.0


# --- the bench ----------------------------------------------------------------------------------------------------


async def bench(phases: list[Phase], loss_percent: float) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    clips = chair_clips()
    with tempfile.TemporaryDirectory() as data_dir, commune_line("bench") as line:
        server = await start_service(data_dir, port)
        chair = SyntheticEndpoint("chair", clips)
        commune: ShapedCommune | None = None
        try:
            async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as http:
                await wait_healthy(base)
                links = await plan_demo_meeting(http, base, ["bac-ha.na-hoi"], "Giao ban – đường truyền xã")
                chair_ws = await _join(http, base, links["laocai"], "Chủ trì")
                await chair.connect(lambda sdp: _negotiate(chair_ws, sdp))
                chair_reader = asyncio.create_task(_answer_pings(chair_ws))
                await chair.wait_connected(20)
                line.shape(phases[0].kbps, loss_percent)
                commune_ws = await _join(http, base, links["bac-ha.na-hoi"], "Xã Nậm Hời")
                starts = [time.time()]
                commune = await ShapedCommune.join(commune_ws, line)
                for index, phase in enumerate(phases):
                    if index:
                        line.shape(phase.kbps, loss_percent)
                        starts.append(time.time())
                    await asyncio.sleep(phase.seconds)
                ended = time.time()
                chair_reader.cancel()
        finally:
            if commune is not None:
                await commune.close()
            await chair.close()
            server.terminate()
            await server.wait()
    assert commune is not None
    return _result(phases, loss_percent, commune, starts, ended)


def _result(phases: list[Phase], loss_percent: float, commune: ShapedCommune, starts: list[float],
            ended: float) -> dict[str, Any]:  # fmt: skip
    started = starts[0]
    per_second = []
    for second in range(int(ended - started)):
        figures = window(commune.reports, started + second, started + second + 1)
        level = next((lvl for at, lvl in reversed(commune.links) if at <= started + second + 1), "good")
        rate = phases[sum(1 for start in starts if start <= started + second) - 1].kbps
        per_second.append({"second": second + 1, "rate_kbps": rate, **figures, "link": level})
    ends = [*starts[1:], ended]
    stretches = [_phase(phase, commune, start, end, started, first=not index)
                 for index, (phase, start, end) in enumerate(zip(phases, starts, ends, strict=True))]  # fmt: skip
    first = stretches[0]
    return {
        "rate_kbps": phases[0].kbps,
        "loss_percent": loss_percent,
        "after_settling": first["after_settling"],
        "audio_only_after_seconds": first["audio_only_after_seconds"],
        "video_packets_after_audio_only": first["video_packets_after_audio_only"],
        "phases": stretches,
        "links": [{"second": round(at - started, 1), "level": level} for at, level in commune.links],
        "per_second": per_second,
    }


def _phase(phase: Phase, commune: ShapedCommune, start: float, end: float, run_start: float,
           first: bool) -> dict[str, Any]:  # fmt: skip
    """One stretch on one line: how it settled, when it went audio only, when the full picture came back."""
    settle = 8.0 if first else 4.0  # joining and finding the size that fits / the relay's answer to a change
    settled = start + min(settle, (end - start) / 3)
    audio_only_at = next((at for at, level in commune.links if level == "poor" and start <= at < end), None)
    # a phase that starts on the full picture (a line about to fall) has nothing to come back to
    full_at = (
        None if flowing_before(commune.reports, FULL_WIDTH, start) else flowing_at(commune.reports, FULL_WIDTH, start)
    )
    if full_at is not None and full_at >= end:
        full_at = None
    # 1.5 s: what was on its way when the relay switched (the line's queue, the last frame) is not stale
    after_audio_only = window(commune.reports, audio_only_at + 1.5, end) if audio_only_at else None
    return {
        "rate_kbps": phase.kbps,
        "from_second": round(start - run_start, 1),
        "seconds": round(end - start, 1),
        "after_settling": window(commune.reports, settled, end),
        "audio_only_after_seconds": round(audio_only_at - start, 1) if audio_only_at else None,
        "video_packets_after_audio_only": after_audio_only["video_packets"] if after_audio_only else None,
        "full_picture_after_seconds": round(full_at - start, 1) if full_at else None,
        "downgrades_after_full_picture": (
            sum(1 for at, level in commune.links if full_at < at < end and level != "good") if full_at else None
        ),
    }


def markdown(result: dict[str, Any], command: str) -> str:
    lines = [f"# {command}", "", f"A commune with {result['loss_percent']} % random loss each way, on:", "",
             "| from s | line kbit/s | fps | longest freeze s | voice concealed | picture | audio only after s | "
             "video packets after | full picture after s | downgrades after it |",
             "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for phase in result["phases"]:
        settled = phase["after_settling"]
        lines.append(
            f"| {phase['from_second']} | {phase['rate_kbps'] or 'not held'} | {settled.get('fps', '')} | "
            f"{settled.get('longest_freeze_seconds', '')} | {settled.get('audio_concealed', '')} | "
            f"{settled.get('picture', '')} | {_or_never(phase['audio_only_after_seconds'])} | "
            f"{_or_never(phase['video_packets_after_audio_only'])} | "
            f"{_or_never(phase['full_picture_after_seconds'])} | "
            f"{_or_never(phase['downgrades_after_full_picture'])} |"
        )
    lines += ["", "Figures after settling: 8 s from the join, 4 s from a change of line.", "",
              "| second | line kbit/s | fps | longest freeze s | audio share | picture | link |",
              "|---|---|---|---|---|---|---|"]  # fmt: skip
    lines += [
        f"| {s['second']} | {s['rate_kbps'] or 'not held'} | {s.get('fps', '')} | "
        f"{s.get('longest_freeze_seconds', '')} | {s.get('audio_share', '')} | {s.get('picture', '')} | {s['link']} |"
        for s in result["per_second"]
    ]
    return "\n".join(lines) + "\n"


def _or_never(value: object) -> object:
    return "–" if value is None else value


async def _join(http: ClientSession, base: str, url: str, name: str) -> ClientWebSocketResponse:
    ws = await http.ws_connect(base.replace("http", "ws") + "/ws")
    await ws.send_json({"type": "join", "token": url.rsplit("/", 1)[1], "name": name})
    async with asyncio.timeout(15):
        while (message := json.loads((await ws.receive()).data))["type"] != "welcome":
            if message["type"] == "error":
                raise RuntimeError(message["message"])
    return ws


async def _negotiate(ws: ClientWebSocketResponse, sdp: str) -> str:
    await ws.send_json({"type": "offer", "sdp": sdp})
    async with asyncio.timeout(15):
        while (message := json.loads((await ws.receive()).data))["type"] != "answer":
            pass
    return str(message["sdp"])


async def _answer_pings(ws: ClientWebSocketResponse) -> None:
    async for _ in ws:
        pass
