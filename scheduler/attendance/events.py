"""What the live meeting tells the record. Pure data; ``AttendanceLog`` is the interface the live side calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

EVENT_TYPES = (
    "joined",  # a connection of a unit entered (name and position as typed on the join page)
    "rejoined",  # the same browser came back after a drop
    "left",  # the person pressed leave
    "dropped",  # the connection was lost (closed tab, network, missed heartbeats)
    "floor_granted",
    "floor_released",
    "roll_call_answered",
    "recording_started",
    "recording_stopped",
    "presentation_started",  # the unit began to show its screen (name as typed)
    "presentation_stopped",
    "chat_message",  # a chat message (name as typed, the text in ``detail``, its recipient in ``to``)
)
STARTS = ("joined", "rejoined")
ENDS = ("left", "dropped")


@dataclass(frozen=True)
class AttendanceEvent:
    type: str
    at: datetime
    unit: str = ""
    connection: str = ""  # one browser tab; two tabs of one unit are two connections
    name: str = ""
    position: str = ""
    detail: str = ""  # e.g. the roll call's id, a chat message's text
    to: str = ""  # a chat message's recipient: "chair", "everyone" or a unit's code

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown attendance event {self.type!r}")
        if self.at.tzinfo is None:
            raise ValueError("attendance times must carry a time zone")


class AttendanceLog(Protocol):
    async def append(self, meeting_id: str, event: AttendanceEvent) -> None: ...

    async def events(self, meeting_id: str) -> list[AttendanceEvent]: ...
