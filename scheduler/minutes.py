"""The minutes of a meeting (biên bản cuộc họp): what the service knows of it as held, and what the secretary adds.

The service knows the title, the time as held, the chair, which units were invited, present and absent, the roll
call, who spoke when (floor grants and presentations) and the questions of the chat; the secretary writes the
conclusions (kết luận) and remarks. ``Minutes`` is the whole document, pure: the exports
(``scheduler/reports/minutes_exports.py``) draw it as PDF and DOCX.

Key layout: ``MINUTES_KEY.format(meeting_id)`` (hash): ``conclusions``, ``remarks``, ``secretary`` (the name to
sign), ``updated_by`` (the account), ``updated_at`` (ISO time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from scheduler.attendance.report import ChatEntry, TimelineEntry, UnitAttendance
from scheduler.directory.units import normalise_text
from scheduler.errors import InvalidInput, Problem
from scheduler.meetings.model import Meeting

MINUTES_KEY = "giaoban:meeting:{}:minutes"
MAX_TEXT = 20_000  # characters of conclusions or remarks: pages of text, not a file
MAX_SECRETARY = 120
SPEAKING_EVENTS = ("floor_granted", "presentation_started")


@dataclass(frozen=True)
class MinutesText:
    """What the secretary writes."""

    conclusions: str = ""
    remarks: str = ""
    secretary: str = ""
    updated_by: str = ""
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Minutes:
    meeting: Meeting
    chair_name: str
    rows: tuple[UnitAttendance, ...]  # every invited unit, the chair first
    timeline: tuple[TimelineEntry, ...]
    chat: tuple[ChatEntry, ...]
    text: MinutesText
    as_of: datetime  # the moment the document stands for (the meeting's end, once it is over)

    @property
    def present(self) -> tuple[UnitAttendance, ...]:
        return tuple(row for row in self.rows if row.status != "absent")

    @property
    def absent(self) -> tuple[UnitAttendance, ...]:
        return tuple(row for row in self.rows if row.status == "absent")

    @property
    def answered_roll_call(self) -> tuple[UnitAttendance, ...]:
        return tuple(row for row in self.rows if row.roll_call)

    @property
    def speakers(self) -> tuple[TimelineEntry, ...]:
        """Who was given the floor or presented, in order."""
        return tuple(entry for entry in self.timeline if entry.type in SPEAKING_EVENTS)

    @property
    def questions(self) -> tuple[ChatEntry, ...]:
        """What the units asked the chair in writing."""
        return tuple(entry for entry in self.chat if entry.to == "chair")


def checked_text(body: dict[str, object], *, by: str, at: datetime) -> MinutesText:
    """The secretary's text from a form or a request, or ``InvalidInput`` naming the field too long."""
    problems = []
    fields = {}
    for name, limit in (("conclusions", MAX_TEXT), ("remarks", MAX_TEXT), ("secretary", MAX_SECRETARY)):
        value = body.get(name, "")
        if not isinstance(value, str):
            problems.append(Problem(name, "Not text"))
            continue
        # line breaks are the secretary's paragraphs: each line tidied, the lines kept
        value = "\n".join(normalise_text(line) for line in value.replace("\r\n", "\n").split("\n")).strip()
        if len(value) > limit:
            problems.append(Problem(name, "At most {limit} characters", {"limit": limit}))
        fields[name] = value
    if problems:
        raise InvalidInput("The minutes were not saved", problems=problems)
    return MinutesText(fields["conclusions"], fields["remarks"], fields["secretary"], by, at)


class MinutesStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def get(self, meeting_id: str) -> MinutesText:
        stored = await self._redis.hgetall(MINUTES_KEY.format(meeting_id))
        at = stored.get("updated_at")
        return MinutesText(stored.get("conclusions", ""), stored.get("remarks", ""), stored.get("secretary", ""),
                           stored.get("updated_by", ""), datetime.fromisoformat(at) if at else None)  # fmt: skip

    async def save(self, meeting_id: str, text: MinutesText) -> None:
        assert text.updated_at is not None
        await self._redis.hset(MINUTES_KEY.format(meeting_id), mapping={
            "conclusions": text.conclusions, "remarks": text.remarks, "secretary": text.secretary,
            "updated_by": text.updated_by, "updated_at": text.updated_at.isoformat()})  # fmt: skip
