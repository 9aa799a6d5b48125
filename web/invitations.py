"""Invitations of a meeting: the per-unit links, the e-mails to each contact address, and their status."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from scheduler.directory.store import UnitStore
from scheduler.directory.units import Unit
from scheduler.errors import NotFound
from scheduler.invitations.tokens import JoinLinks, role_of
from scheduler.mail.outbox import MailJob, Outbox
from scheduler.meetings.model import Meeting
from scheduler.meetings.store import MeetingStore
from web.i18n import I18n
from web.mail import compose, job_id, kind_for

REMINDER_LOOKAHEAD = timedelta(hours=1)


@dataclass(frozen=True)
class Invitations:
    links: JoinLinks
    outbox: Outbox
    units: UnitStore
    meetings: MeetingStore
    i18n: I18n
    language: str
    sender: str
    reminder_minutes: int
    mail_server: bool = True  # False: no SMTP host is set, so nothing queued will be sent until one is

    async def rows(self, meeting: Meeting) -> list[dict[str, Any]]:
        """One row per invited unit (the chair first): role, link, and how its e-mails stand."""
        units = await self.units.all()
        jobs_by_unit: dict[str, list[MailJob]] = {}
        for job in await self.outbox.jobs_of(meeting.id):
            if job.kind not in ("reminder", "check_reminder"):
                jobs_by_unit.setdefault(job.unit, []).append(job)
        rows = []
        for code in (meeting.chair_unit, *meeting.invited_units):
            unit = units.get(code)
            jobs = jobs_by_unit.get(code, [])
            join_url = await self.links.url_for(meeting, code)
            rows.append({
                "unit": code,
                "unit_name": unit.name if unit else code,
                "role": role_of(meeting, code),
                "join_url": join_url,
                "code": await self.links.code_for(meeting, join_url),  # the same way in, read out over the phone
                "email_status": _email_status(unit, jobs, mail_server=self.mail_server),
                "sent_at": _sent_at(jobs),
                "last_error": next((j.last_error for j in jobs if j.last_error), None),
            })  # fmt: skip
        return rows

    async def send(self, meeting: Meeting, *, unit_codes: Iterable[str] | None = None, again: bool = False) -> int:
        """Queue the invitation (or update, or cancellation) for each contact; returns how many were queued.

        Without ``again`` an e-mail already queued for this version of the meeting is not queued twice.
        """
        return await self._queue(meeting, kind_for(meeting), unit_codes, again=again, due=None)

    async def remind_to_check(self, meeting: Meeting, unit_codes: Iterable[str]) -> int:
        """Ask these units by e-mail to run the technical check (each time the host asks)."""
        return await self._queue(meeting, "check_reminder", unit_codes, again=True, due=None)

    async def after_change(self, meeting: Meeting) -> int:
        """A meeting changed: tell the units that were already invited (update or cancellation)."""
        if not await self.outbox.has_jobs(meeting.id):
            return 0  # nobody was told about it yet; the host sends the invitations when ready
        return await self.send(meeting)

    async def queue_reminders(self, now: datetime) -> int:
        """Queue each reminder once, due ``reminder_minutes`` before the start; the outbox holds it till then."""
        queued = 0
        horizon = now + timedelta(minutes=self.reminder_minutes) + REMINDER_LOOKAHEAD
        for meeting in await self.meetings.between(now, horizon):
            if meeting.state(now) in ("scheduled", "lobby_open") and await self.outbox.has_jobs(meeting.id):
                due = (meeting.starts_at - timedelta(minutes=self.reminder_minutes)).timestamp()
                queued += await self._queue(meeting, "reminder", None, again=False, due=due)
        return queued

    async def _queue(self, meeting: Meeting, kind: str, unit_codes: Iterable[str] | None, *, again: bool,
                     due: float | None) -> int:  # fmt: skip
        units = await self.units.all()
        chair = units.get(meeting.chair_unit) or Unit(meeting.chair_unit, meeting.chair_unit, "province")
        codes = list(unit_codes) if unit_codes is not None else [meeting.chair_unit, *meeting.invited_units]
        queued = 0
        for code in codes:
            if role_of(meeting, code) is None or code not in units:
                raise NotFound("Unit {unit} is not invited to this meeting", unit=code)
            join_url = await self.links.url_for(meeting, code)
            short_code = await self.links.code_for(meeting, join_url)
            for address in units[code].emails:
                identity = job_id(kind, meeting, code, address) + (f":again:{time.time_ns()}" if again else "")
                message = compose(self.i18n, self.language, kind=kind, meeting=meeting, unit=units[code],
                                  chair=chair, join_url=join_url, to=address, sender=self.sender,
                                  message_id=identity, now=datetime.now().astimezone(), code=short_code)  # fmt: skip
                queued += await self.outbox.enqueue(identity, to=address, kind=kind, meeting=meeting.id, unit=code,
                                                    message=message, version=meeting.sequence, due=due)  # fmt: skip
        return queued


def _email_status(unit: Unit | None, jobs: list[MailJob], *, mail_server: bool) -> str:
    if unit is None or not unit.emails:
        return "no_address"
    if not mail_server:
        return "no_mail_server"  # not "waiting": without a server nothing goes, however long one waits
    if not jobs:
        return "not_sent"
    latest = max(j.version for j in jobs)  # only the e-mails about the meeting as it is now count
    statuses = {j.status for j in jobs if j.version == latest}
    for status in ("failed", "retrying", "sending", "queued"):
        if status in statuses:
            return status
    return "sent"


def _sent_at(jobs: list[MailJob]) -> str | None:
    moments = [j.sent_at for j in jobs if j.sent_at]
    return datetime.fromtimestamp(max(moments)).astimezone().isoformat() if moments else None
