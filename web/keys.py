"""Typed keys for what ``create_app`` puts in the application: the only shared state there is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from live.checks import Checks
    from live.meetings import LiveMeetings
    from scheduler.attendance.events import AttendanceLog
    from scheduler.background import Background
    from scheduler.clock import Clock
    from scheduler.directory.store import UnitStore
    from scheduler.mail.outbox import Outbox
    from scheduler.mail.sender import MailSender
    from scheduler.meetings.store import MeetingStore
    from scheduler.minutes import MinutesStore
    from scheduler.readiness import ReadinessStore
    from scheduler.recordings.catalogue import RecordingCatalogue
    from scheduler.recordings.jobs import ProgramJobs
    from scheduler.reports.signing import Signer
    from scheduler.store import Store
    from web.accounts import AccountStore
    from web.config import Config
    from web.i18n import I18n
    from web.invitations import Invitations
    from web.lifecycle import Shutdown
    from web.metrics import HttpMetrics
    from web.sessions import LoginThrottle, SessionStore

CONFIG: web.AppKey[Config] = web.AppKey("config")
BACKGROUND: web.AppKey[Background] = web.AppKey("background")
STORE: web.AppKey[Store] = web.AppKey("store")
ACCOUNTS: web.AppKey[AccountStore] = web.AppKey("accounts")
SESSIONS: web.AppKey[SessionStore] = web.AppKey("sessions")
THROTTLE: web.AppKey[LoginThrottle] = web.AppKey("throttle")
UNITS: web.AppKey[UnitStore] = web.AppKey("units")
MEETINGS: web.AppKey[MeetingStore] = web.AppKey("meetings")
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
OUTBOX: web.AppKey[Outbox] = web.AppKey("outbox")
MAIL_SENDER: web.AppKey[MailSender | None] = web.AppKey("mail_sender")  # None: no SMTP configured
INVITATIONS: web.AppKey[Invitations] = web.AppKey("invitations")
ATTENDANCE: web.AppKey[AttendanceLog] = web.AppKey("attendance")
SIGNER: web.AppKey[Signer] = web.AppKey("signer")
I18N: web.AppKey[I18n] = web.AppKey("i18n")
METRICS_REGISTRY: web.AppKey[CollectorRegistry] = web.AppKey("metrics_registry")
HTTP_METRICS: web.AppKey[HttpMetrics] = web.AppKey("http_metrics")
SHUTDOWN: web.AppKey[Shutdown] = web.AppKey("shutdown")
LIVE: web.AppKey[LiveMeetings] = web.AppKey("live")
CHECKS: web.AppKey[Checks] = web.AppKey("checks")
READINESS: web.AppKey[ReadinessStore] = web.AppKey("readiness")
MINUTES: web.AppKey[MinutesStore] = web.AppKey("minutes")
RECORDINGS: web.AppKey[RecordingCatalogue] = web.AppKey("recordings")
PROGRAM_JOBS: web.AppKey[ProgramJobs] = web.AppKey("program_jobs")
OPENAPI: web.AppKey[dict[str, Any]] = web.AppKey("openapi")
