"""The calendar entry (RFC 5545) that rides along with an invitation e-mail, built with ``icalendar``.

The UID is stable per meeting, so an update (a higher SEQUENCE) or a cancellation (METHOD:CANCEL) replaces the
entry in the recipient's calendar instead of adding a second one.

A weekly series is one recurring entry (``series_entry``): a weekly RRULE from its first place, an EXDATE for each
cancelled occurrence, and an override (RECURRENCE-ID: its place in the rule) for each occurrence that was moved
or renamed alone.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress

from scheduler.meetings.model import VIETNAM, Meeting

PRODUCT_ID = "-//giaoban//giao ban truc tuyen//VI"


def meeting_uid(meeting: Meeting) -> str:
    return f"meeting-{meeting.id}@giaoban"


def series_uid(series_id: str) -> str:
    return f"series-{series_id}@giaoban"


def calendar_entry(meeting: Meeting, *, join_url: str, organiser: str, attendee: str, now: datetime,
                   description: str) -> bytes:  # fmt: skip
    calendar = _calendar("CANCEL" if meeting.cancelled else "REQUEST")
    event = _event(meeting_uid(meeting), meeting, join_url=join_url, organiser=organiser, attendee=attendee, now=now,
                   description=description)  # fmt: skip
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def series_entry(occurrences: Sequence[Meeting], *, join_url: str, organiser: str, attendee: str, now: datetime,
                 description: str) -> bytes:  # fmt: skip
    """One recurring entry for every occurrence of a weekly series (in the rule's order)."""
    first = occurrences[0]
    assert first.series_id is not None
    uid, sequence = series_uid(first.series_id), sum(m.sequence for m in occurrences)
    everything_cancelled = all(m.cancelled for m in occurrences)
    calendar = _calendar("CANCEL" if everything_cancelled else "REQUEST")
    event = functools.partial(_event, uid, join_url=join_url, organiser=organiser, attendee=attendee, now=now,
                              description=description, sequence=sequence)  # fmt: skip
    slot = first.series_place
    length = first.ends_at - first.starts_at
    rule = event(first, starts=slot, ends=slot + length, cancelled=everything_cancelled)
    rule.add("rrule", {"freq": "weekly", "count": len(occurrences)})
    cancelled = [m.series_place.astimezone(VIETNAM) for m in occurrences if m.cancelled]
    if cancelled and not everything_cancelled:
        rule.add("exdate", cancelled)
    calendar.add_component(rule)
    for meeting in occurrences:
        place = meeting.series_place
        moved = (meeting.starts_at, meeting.ends_at, meeting.title) != (place, place + length, first.title)
        if moved and not meeting.cancelled and not everything_cancelled:
            override = event(meeting)
            override.add("recurrence-id", place.astimezone(VIETNAM))
            calendar.add_component(override)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())


def _calendar(method: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    return calendar


def _event(uid: str, meeting: Meeting, *, join_url: str, organiser: str, attendee: str, now: datetime,
           description: str, sequence: int | None = None, starts: datetime | None = None,
           ends: datetime | None = None, cancelled: bool | None = None) -> Event:  # fmt: skip
    cancelled = meeting.cancelled if cancelled is None else cancelled
    event = Event()
    event.add("uid", uid)
    event.add("sequence", meeting.sequence if sequence is None else sequence)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", (starts or meeting.starts_at).astimezone(VIETNAM))
    event.add("dtend", (ends or meeting.ends_at).astimezone(VIETNAM))
    event.add("summary", meeting.title)
    event.add("description", description)
    event.add("url", join_url)
    event.add("location", join_url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("organizer", vCalAddress(f"mailto:{organiser}"))
    who = vCalAddress(f"mailto:{attendee}")
    who.params["ROLE"] = "REQ-PARTICIPANT"
    who.params["RSVP"] = "FALSE"
    event.add("attendee", who)
    return event
