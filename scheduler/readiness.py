"""Technical checks (kiểm tra kỹ thuật): one verdict per unit from what its check measured, kept per meeting.

The browser measures what only it can (frames from the camera, a level from the microphone, whether the person
heard the test sound); the relay measures the line (``conference/line_test.py``). ``judge`` turns both into one
verdict and what to fix, first things first: a device that does not work, then a line that cannot carry pictures.

Key layout: ``READINESS_KEY.format(meeting_id)`` (hash): unit code → the JSON of its latest ``Check``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from redis.asyncio import Redis

from scheduler.errors import N_

READINESS_KEY = "giaoban:meeting:{}:readiness"
Verdict = Literal["ready", "audio-only", "problem"]  # LABELS and SUMMARIES say each
MIN_CAMERA_FPS = 3.0  # frames a second the camera must give (an old webcam in a dim room gives ~10)
MIN_MIC_LEVEL = 0.02  # peak level, 0 to 1, above the hiss of an open microphone nobody speaks into

FIXES = {
    "camera": N_("The camera gives no picture: check that it is plugged in and that the browser may use it"),
    "microphone": N_(
        "The microphone picks up no sound: check that it is plugged in, switched on and allowed in the browser"
    ),
    "speakers": N_("No sound was heard from the speakers: check the speakers' cable, power and volume"),
    "line_none": N_(
        "The line to the server carries nothing: check the network, or ask the technician to open the meeting's ports"
    ),
    "line_audio": N_(
        "The line only carries sound: the meeting will be audio only; ask for a faster line or free it of other use"
    ),
    "line_small": N_("The line carries a reduced picture only: the meeting will work, with a smaller picture"),
}
LINE_FIXES = {"none": "line_none", "audio": "line_audio", "small": "line_small"}  # a full line needs no fix
BLOCKING = ("camera", "microphone", "speakers", "line_none")  # the meeting cannot be followed until fixed
LABELS = {"ready": N_("Ready"), "audio-only": N_("Audio only"), "problem": N_("Not ready")}
LINE_LABELS = {"full": N_("full picture"), "small": N_("reduced picture (small)"), "audio": N_("audio only"),
               "none": N_("nothing gets through")}  # fmt: skip
SUMMARIES = {
    "ready": N_("Ready for the meeting"),
    "audio-only": N_("Ready for sound only"),
    "problem": N_("Not ready: fix what is listed"),
}


@dataclass(frozen=True)
class Devices:
    """What the browser found."""

    camera_fps: float
    mic_level: float
    sound_heard: bool


@dataclass(frozen=True)
class Check:
    unit: str
    at: datetime
    verdict: Verdict
    fixes: tuple[str, ...]  # keys of FIXES
    devices: Devices
    line: dict[str, Any] = field(default_factory=dict)  # LineResult.to_json()

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "at": self.at.isoformat(), "fixes": list(self.fixes)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Check:
        return cls(unit=data["unit"], at=datetime.fromisoformat(data["at"]), verdict=data["verdict"],
                   fixes=tuple(data["fixes"]), devices=Devices(**data["devices"]),
                   line=data.get("line", {}))  # fmt: skip


def judge(unit: str, at: datetime, devices: Devices, line: dict[str, Any]) -> Check:
    """One verdict: a device that fails makes it a problem; else the line says ready or audio only."""
    fixes = []
    if devices.camera_fps < MIN_CAMERA_FPS:
        fixes.append("camera")
    if devices.mic_level < MIN_MIC_LEVEL:
        fixes.append("microphone")
    if not devices.sound_heard:
        fixes.append("speakers")
    level = line.get("level", "none")
    line_fix = LINE_FIXES.get(level)
    if line_fix:
        fixes.append(line_fix)
    blocked = any(fix in BLOCKING for fix in fixes)
    verdict: Verdict = "problem" if blocked else "audio-only" if level == "audio" else "ready"
    return Check(unit, at, verdict, tuple(fixes), devices, line)


class ReadinessStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def save(self, meeting_id: str, check: Check) -> None:
        await self._redis.hset(READINESS_KEY.format(meeting_id), check.unit,
                               json.dumps(check.to_json(), ensure_ascii=False))  # fmt: skip

    async def all(self, meeting_id: str) -> dict[str, Check]:
        stored = await self._redis.hgetall(READINESS_KEY.format(meeting_id))
        return {unit: Check.from_json(json.loads(text)) for unit, text in stored.items()}
