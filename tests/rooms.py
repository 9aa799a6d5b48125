"""A room with no network for the room's tests: peers that keep what they are told, a meeting of 30 units."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from conference.layout import Source
from conference.members import MeetingFacts
from conference.room import Room
from scheduler.attendance.events import AttendanceEvent


class RecordingPeer:
    """The room's view of a connection; keeps what it was told so the test can read it."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.plan: dict[str, Source | None] = {}
        self.closed: str | None = None

    def send(self, message: Any) -> None:
        self.messages.append(dict(message))

    def forward(self, slots: Any) -> None:
        self.plan = dict(slots)

    def close(self, reason: str) -> None:
        self.closed = reason

    def last(self, kind: str) -> dict[str, Any]:
        return next(m for m in reversed(self.messages) if m["type"] == kind)

    def fed(self) -> dict[str, Source]:
        return {slot: source for slot, source in self.plan.items() if source is not None}


UNITS = tuple(f"X{i:02}" for i in range(1, 31))


class Meeting:
    def __init__(self) -> None:
        self.events: list[AttendanceEvent] = []
        facts = MeetingFacts("m1", "Giao ban", "TINH", UNITS)
        self.room = Room(facts, now=lambda: datetime(2026, 11, 23, 1, tzinfo=UTC), record=self.events.append)
        self.peers: dict[str, RecordingPeer] = {}

    def join(self, unit: str, role: str = "participant", **kwargs: Any) -> RecordingPeer:
        peer = RecordingPeer()
        connection = kwargs.pop("connection", f"c-{unit}")
        self.peers[connection] = peer
        self.room.join(peer, connection=connection, unit=unit, role=role, name=f"Ông {unit}", **kwargs)
        return peer

    def event_types(self) -> list[tuple[str, str]]:
        return [(e.type, e.unit) for e in self.events]
