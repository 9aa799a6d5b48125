"""Invitations of a meeting: the per-unit links, the e-mails to each contact address, and their status."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from scheduler.directory.store import UnitStore
from scheduler.directory.units import Unit, server_of
from scheduler.errors import NotFound
from scheduler.invitations.tokens import SERIES_SCOPE, JoinLinks, link_scope, role_of
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
        own, series = await self._jobs_by_unit(meeting.id), await self._jobs_by_unit(link_scope(meeting))
        rows = []
        for code in (meeting.chair_unit, *meeting.invited_units):
            unit = units.get(code)
            jobs = series.get(code) or own.get(code, [])  # the series' invitation, once it went, is what counts
            join_url = await self.links.url_for(meeting, code, server_of(units, code))
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

    async def _jobs_by_unit(self, key: str) -> dict[str, list[MailJob]]:
        found: dict[str, list[MailJob]] = {}
        for job in await self.outbox.jobs_of(key):
            if job.kind not in ("reminder", "check_reminder"):
                found.setdefault(job.unit, []).append(job)
        return found

    async def send_series(self, series_id: str) -> int:
        """One e-mail per contact for the whole weekly series, with one recurring calendar entry (cancelled
        occurrences as EXDATE) and the unit's one link for all of them. Asked again after a change, it sends the
        update; asked again with nothing changed, nothing."""
        occurrences = await self.meetings.series(series_id)
        if not occurrences:
            raise NotFound("No meeting {id}", id=series_id)
        scope = f"{SERIES_SCOPE}{series_id}"
        if all(m.cancelled for m in occurrences):
            kind = "cancellation"
        else:
            kind = "series_update" if await self.outbox.has_jobs(scope) else "series_invitation"
        version = sum(m.sequence for m in occurrences)
        first = next((m for m in occurrences if not m.cancelled), occurrences[0])
        units = await self.units.all()
        chair = _chair_of(first, units)
        invited = dict.fromkeys(code for m in occurrences for code in (m.chair_unit, *m.invited_units))
        queued = 0
        for code in invited:
            unit, meeting = units.get(code), next((m for m in occurrences if role_of(m, code)), first)
            if unit is None:
                continue
            join_url = await self.links.url_for(meeting, code, server_of(units, code))
            short_code = await self.links.code_for(occurrences[-1], join_url)  # kept until the last one ends

            def identity(address: str, code: str = code) -> str:  # one per version of the whole series
                return f"series:{series_id}:{code}:{address.lower()}:{version}"

            queued += await self._mail(unit, kind=kind, meeting=first, chair=chair, join_url=join_url,
                                       code=short_code, outbox_key=scope, version=version, identity=identity,
                                       occurrences=occurrences)  # fmt: skip
        return queued

    async def send(self, meeting: Meeting, *, unit_codes: Iterable[str] | None = None, again: bool = False) -> int:
        """Queue the invitation (or update, or cancellation) for each contact; returns how many were queued.

        Without ``again`` an e-mail already queued for this version of the meeting is not queued twice.
        """
        return await self._queue(meeting, kind_for(meeting), unit_codes, again=again, due=None)

    async def remind_to_check(self, meeting: Meeting, unit_codes: Iterable[str]) -> int:
        """Ask these units by e-mail to run the technical check (each time the host asks)."""
        return await self._queue(meeting, "check_reminder", unit_codes, again=True, due=None)

    async def after_change(self, meeting: Meeting) -> int:
        """A meeting changed: tell the units that were already invited (update or cancellation); a series whose
        invitation went gets its recurring entry again."""
        if meeting.series_id and await self.outbox.has_jobs(link_scope(meeting)):
            return await self.send_series(meeting.series_id)
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
        chair = _chair_of(meeting, units)
        codes = list(unit_codes) if unit_codes is not None else [meeting.chair_unit, *meeting.invited_units]
        queued = 0
        for code in codes:
            if role_of(meeting, code) is None or code not in units:
                raise NotFound("Unit {unit} is not invited to this meeting", unit=code)
            join_url = await self.links.url_for(meeting, code, server_of(units, code))
            short_code = await self.links.code_for(meeting, join_url)

            def identity(address: str, code: str = code) -> str:
                return job_id(kind, meeting, code, address) + (f":again:{time.time_ns()}" if again else "")

            queued += await self._mail(units[code], kind=kind, meeting=meeting, chair=chair, join_url=join_url,
                                       code=short_code, outbox_key=meeting.id, version=meeting.sequence,
                                       identity=identity, due=due)  # fmt: skip
        return queued

    async def _mail(self, unit: Unit, *, kind: str, meeting: Meeting, chair: Unit, join_url: str, code: str,
                    outbox_key: str, version: int, identity: Callable[[str], str], due: float | None = None,
                    occurrences: Sequence[Meeting] = ()) -> int:  # fmt: skip
        """One e-mail to each of the unit's addresses, queued once per ``identity`` (of the address)."""
        queued = 0
        for address in unit.emails:
            message_id = identity(address)
            message = compose(self.i18n, self.language, kind=kind, meeting=meeting, unit=unit, chair=chair,
                              join_url=join_url, to=address, sender=self.sender, message_id=message_id,
                              now=datetime.now().astimezone(), code=code, occurrences=occurrences)  # fmt: skip
            queued += await self.outbox.enqueue(message_id, to=address, kind=kind, meeting=outbox_key, unit=unit.code,
                                                message=message, version=version, due=due)  # fmt: skip
        return queued


def _chair_of(meeting: Meeting, units: Mapping[str, Unit]) -> Unit:
    return units.get(meeting.chair_unit) or Unit(meeting.chair_unit, meeting.chair_unit, "province")


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
