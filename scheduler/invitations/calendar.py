"""The calendar entry (RFC 5545) that rides along with an invitation e-mail, built with ``icalendar``.

The UID is stable per meeting, so an update (a higher SEQUENCE) or a cancellation (METHOD:CANCEL) replaces the
entry in the recipient's calendar instead of adding a second one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress

from scheduler.meetings.model import VIETNAM, Meeting

PRODUCT_ID = "-//giaoban//giao ban truc tuyen//VI"


def meeting_uid(meeting: Meeting) -> str:
    return f"meeting-{meeting.id}@giaoban"


def calendar_entry(meeting: Meeting, *, join_url: str, organiser: str, attendee: str, now: datetime,
                   description: str) -> bytes:  # fmt: skip
    cancelled = meeting.cancelled
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", meeting_uid(meeting))
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", meeting.starts_at.astimezone(VIETNAM))
    event.add("dtend", meeting.ends_at.astimezone(VIETNAM))
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
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
