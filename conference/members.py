"""Who is in a live meeting, as the room sees them: roles, link levels, members, the planned meeting's facts, and
the ``Peer`` protocol through which the room talks to each connection. Pure data; the rules are in room.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from conference.layout import AUDIO_SLOTS, Source
from scheduler.errors import NotAuthorised

CHAIR, PARTICIPANT = "chair", "participant"
# The line's level, as the relay judges it (conference/relay/peer.py): good, the chair's full picture; weak, a
# smaller size of it; poor, audio only because of the line. The relay picks the sizes; the room only says it.
LINK_GOOD, LINK_WEAK, LINK_POOR = "good", "weak", "poor"
LEFT, DROPPED = "left", "dropped"
MAX_SPEAKERS = AUDIO_SLOTS  # with discussion open, this many units may hold the floor at once


class Peer(Protocol):
    """One connection as the room sees it. Implementations queue and return; they never block the room."""

    def send(self, message: Mapping[str, Any]) -> None: ...

    def forward(self, slots: Mapping[str, Source | None]) -> None: ...

    def close(self, reason: str) -> None: ...


@dataclass
class Member:
    connection: str  # one browser tab
    unit: str
    role: str
    name: str
    position: str
    peer: Peer
    admitted: bool = False  # False while waiting in the lobby for the chair
    audio_only: bool = False  # asked for by the person
    link: str = LINK_GOOD  # judged by the relay
    grid_page: int = 0  # the chair's page of small pictures
    forwarded: dict[str, Source | None] = field(default_factory=dict)

    @property
    def is_chair(self) -> bool:
        return self.role == CHAIR

    @property
    def receives_video(self) -> bool:
        """Pictures are planned unless the person asked for audio only; which size fits the line, the relay picks."""
        return not self.audio_only


@dataclass(frozen=True)
class MeetingFacts:
    """What the room needs to know about the planned meeting."""

    meeting_id: str
    title: str
    chair_unit: str
    invited_units: tuple[str, ...]
    names: Mapping[str, str] = field(default_factory=dict)  # unit code → its name in the directory

    def name_of(self, unit: str) -> str:
        """What people read: a unit's name, never its code (which only the directory's keeper knows)."""
        return self.names.get(unit, unit)


class RemovedByChair(NotAuthorised):
    """The unit's link no longer opens this meeting: the chair removed it (and may let it back)."""
