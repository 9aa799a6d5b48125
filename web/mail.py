"""Invitation e-mails: composed in the recipients' language, queued in the outbox, one per contact address.

Each message has a plain-text part, an HTML part and a ``text/calendar`` part (METHOD:REQUEST, or CANCEL), and
carries only its own unit's link.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime as rfc2822_date

from babel.dates import format_date, format_datetime

from scheduler.directory.units import Unit
from scheduler.errors import N_
from scheduler.invitations.calendar import calendar_entry, series_entry
from scheduler.meetings.model import VIETNAM, Meeting
from web.i18n import I18n

KINDS = ("invitation", "update", "cancellation", "reminder", "check_reminder", "series_invitation", "series_update")
SUBJECTS = {
    "invitation": N_("Invitation to an online meeting: {title}"),
    "update": N_("Changed: {title}"),
    "cancellation": N_("Cancelled: {title}"),
    "reminder": N_("Reminder: {title} at {time}"),
    "check_reminder": N_("Technical check before: {title}"),
    "series_invitation": N_("Invitation to the weekly online meetings: {title}"),
    "series_update": N_("Changed: the weekly meetings {title}"),
}
WHEN_FORMAT = {"vi": "EEEE, dd/MM/yyyy 'lúc' HH:mm", "en": "EEEE d MMMM yyyy, HH:mm"}
SERIES_TEXT = N_("every {weekday}, {start}–{end}, from {first} to {last} ({count} meetings)")


def series_text(i18n: I18n, language: str, occurrences: Sequence[Meeting]) -> str:
    """“mỗi thứ Hai, 08:00–10:30, từ 30/11/2026 đến 15/02/2027 (12 buổi)”: a weekly series as people read it."""
    first, last = occurrences[0].starts_at.astimezone(VIETNAM), occurrences[-1].starts_at.astimezone(VIETNAM)
    kept = [m for m in occurrences if not m.cancelled]
    return i18n.format(language, SERIES_TEXT, {
        "weekday": format_date(first.date(), "EEEE", locale=language), "start": f"{first:%H:%M}",
        "end": f"{occurrences[0].ends_at.astimezone(VIETNAM):%H:%M}", "first": f"{first:%d/%m/%Y}",
        "last": f"{last:%d/%m/%Y}", "count": len(kept)})  # fmt: skip


def meeting_time_text(meeting: Meeting, language: str) -> str:
    """“Thứ Hai, 30/11/2026 lúc 08:00–10:30”: how people read a meeting's time."""
    start, end = meeting.starts_at.astimezone(VIETNAM), meeting.ends_at.astimezone(VIETNAM)
    return f"{format_datetime(start, WHEN_FORMAT[language], locale=language)}–{end:%H:%M}"


def kind_for(meeting: Meeting) -> str:
    """What an invitation sent now is: the first one, an update after changes, or a cancellation."""
    if meeting.cancelled:
        return "cancellation"
    return "update" if meeting.sequence else "invitation"


def job_id(kind: str, meeting: Meeting, unit: str, address: str) -> str:
    """Same e-mail, same id: asking twice queues it once. Reminders are once per start time."""
    version = int(meeting.starts_at.timestamp()) if kind == "reminder" else meeting.sequence
    return f"{kind}:{meeting.id}:{unit}:{address.lower()}:{version}"


def compose(i18n: I18n, language: str, *, kind: str, meeting: Meeting, unit: Unit, chair: Unit, join_url: str,
            to: str, sender: str, message_id: str, now: datetime, code: str = "",
            occurrences: Sequence[Meeting] = ()) -> str:  # fmt: skip
    """One invitation e-mail; with ``occurrences`` (a weekly series, ``meeting`` its first to come) one for the
    whole series, with one recurring calendar entry."""
    start = meeting.starts_at.astimezone(VIETNAM)
    when = (
        f"{format_datetime(start, WHEN_FORMAT[language], locale=language)}–{meeting.ends_at.astimezone(VIETNAM):%H:%M}"
    )
    context = {"kind": kind, "meeting": meeting, "unit": unit, "chair": chair, "join_url": join_url, "when": when,
               "code": code, "series": series_text(i18n, language, occurrences) if occurrences else ""}  # fmt: skip
    message = EmailMessage(policy=SMTP)
    message["Subject"] = i18n.format(language, SUBJECTS[kind], {"title": meeting.title, "time": f"{start:%H:%M}"})
    message["From"] = sender
    message["To"] = to
    message["Date"] = rfc2822_date(now)
    message["Message-ID"] = f"<{message_id.replace(':', '.').replace('@', '=')}@giaoban>"
    message.set_content(i18n.template(language, "email/invitation.txt").render(language=language, **context))
    message.add_alternative(i18n.template(language, "email/invitation.html").render(language=language, **context),
                            subtype="html")  # fmt: skip
    if kind == "check_reminder":
        return message.as_string()  # the calendar already has the meeting
    description = f"{meeting.agenda}\n\n{join_url}".strip()
    if occurrences:
        ics = series_entry(occurrences, join_url=join_url, organiser=sender, attendee=to, now=now,
                           description=description)  # fmt: skip
        method = "CANCEL" if all(m.cancelled for m in occurrences) else "REQUEST"
    else:
        ics = calendar_entry(meeting, join_url=join_url, organiser=sender, attendee=to, now=now,
                             description=description)  # fmt: skip
        method = "CANCEL" if meeting.cancelled else "REQUEST"
    message.add_alternative(ics.decode(), subtype="calendar", params={"method": method})
    return message.as_string()
