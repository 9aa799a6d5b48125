"""What one recording wrote: its track files, which part each played (the chair or the floor) from when to when.

The recorder writes it next to the files as ``manifest.json``; the program job reads it. Times inside are
milliseconds since the recording started, the same clock as the packets in the files; ``floor_timeline`` turns
them into wall-clock times for people.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
CHAIR, FLOOR, PRESENTATION = "chair", "floor", "presentation"


@dataclass(frozen=True)
class TrackEntry:
    file: str  # name inside the recording's directory
    unit: str
    name: str  # as the person typed it on the join page
    role: str  # CHAIR, FLOOR or PRESENTATION: the part this track played in the meeting
    kind: str  # audio or video
    intervals: tuple[tuple[int, int], ...]  # [from, to) in ms while the room forwarded this track
    duration_seconds: float
    bytes: int
    offset_ms: int  # where the file's time 0 (its first frame) falls in the recording


@dataclass(frozen=True)
class Manifest:
    meeting_id: str
    session: str  # one start-to-stop of the record button
    started_at: datetime
    duration_ms: int
    tracks: tuple[TrackEntry, ...]
    stopped: str = ""  # why it stopped: "" when asked to, else e.g. disk_full

    def floor_timeline(self) -> list[dict[str, str]]:
        """Who held the floor from when to when, in wall-clock time, in order."""
        return self._timeline(FLOOR)

    def presentation_timeline(self) -> list[dict[str, str]]:
        """Who presented from when to when."""
        return self._timeline(PRESENTATION)

    def _timeline(self, role: str) -> list[dict[str, str]]:
        held = sorted((start, end, t.unit, t.name) for t in self.tracks
                      if t.role == role and t.kind == "video" for start, end in t.intervals)  # fmt: skip
        return [{"unit": unit, "name": name, "from": self._at(start), "to": self._at(end)}
                for start, end, unit, name in held]  # fmt: skip

    def _at(self, ms: int) -> str:
        return (self.started_at + timedelta(milliseconds=ms)).isoformat()

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"] = self.started_at.isoformat()
        data["floor"] = self.floor_timeline()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        # not ``t``: the translation extractor takes t(...) and t[...] for the gettext shorthand
        tracks = tuple(TrackEntry(**{**track, "intervals": tuple((a, b) for a, b in track["intervals"])})
                       for track in data["tracks"])  # fmt: skip
        return cls(data["meeting_id"], data["session"], datetime.fromisoformat(data["started_at"]),
                   data["duration_ms"], tracks, data.get("stopped", ""))  # fmt: skip

    def save(self, directory: Path) -> None:
        path = directory / MANIFEST
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
        temporary.replace(path)

    @classmethod
    def load(cls, directory: Path) -> Manifest:
        return cls.from_json(json.loads((directory / MANIFEST).read_text(encoding="utf-8")))
