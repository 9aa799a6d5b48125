"""``create_app(config)``: the whole service, built from one validated configuration. No module globals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from prometheus_client import CollectorRegistry

from scheduler.attendance.store import RedisAttendanceLog
from scheduler.background import Background
from scheduler.clock import Clock
from scheduler.directory.store import RedisUnitStore
from scheduler.invitations.tokens import JoinLinks
from scheduler.mail.outbox import Outbox
from scheduler.mail.sender import MailSender, SmtpSettings
from scheduler.meetings.store import RedisMeetingStore
from scheduler.minutes import MinutesStore
from scheduler.readiness import ReadinessStore
from scheduler.recordings.catalogue import RecordingCatalogue
from scheduler.recordings.jobs import ProgramJobs
from scheduler.reports.signing import Signer
from scheduler.store import Store
from signaling.session import HEARTBEAT_SECONDS
from web import hardening, keys
from web.accounts import AccountStore
from web.admin_pages import add_admin_routes
from web.api import attendance as attendance_api
from web.api import invitations as invitations_api
from web.api import meetings as meetings_api
from web.api import minutes as minutes_api
from web.api import recordings as recordings_api
from web.api import reports as reports_api
from web.api import session as session_api
from web.api import units as units_api
from web.check_page import add_check_routes
from web.codes import add_code_routes
from web.config import Config
from web.endpoints import Endpoint, add_endpoints, openapi_document
from web.errors import error_middleware
from web.forwarded import forwarded_middleware
from web.health import ENDPOINTS as META_ENDPOINTS
from web.health import add_health_routes
from web.i18n import LANGUAGE_COOKIE, LANGUAGE_QUERY, LANGUAGES, I18n
from web.invitations import Invitations
from web.lifecycle import Shutdown, mail_lifecycle, store_lifecycle
from web.live import add_live_routes, live_lifecycle
from web.meeting_pages import add_meeting_page_routes
from web.metrics import BackgroundCollector, HttpMetrics, metrics_middleware
from web.minutes_page import add_minutes_routes
from web.pages import add_page_routes
from web.recording_pages import add_recording_page_routes
from web.recordings import recordings_lifecycle
from web.room_page import add_room_page_routes
from web.sessions import LoginThrottle, SessionStore
from web.static_files import add_static_routes
from web.verify_page import add_verify_routes

VERSION = "0.1.0"
STATIC_DIR = Path(__file__).parent / "static"
MAX_REQUEST_BYTES = 2 * 1024 * 1024  # a directory CSV of a whole province is ~20 KB; leave room
API_ENDPOINTS: tuple[Endpoint, ...] = (
    *session_api.ENDPOINTS,
    *units_api.ENDPOINTS,
    *meetings_api.ENDPOINTS,
    *invitations_api.ENDPOINTS,
    *attendance_api.ENDPOINTS,
    *minutes_api.ENDPOINTS,
    *reports_api.ENDPOINTS,
    *recordings_api.ENDPOINTS,
    *META_ENDPOINTS,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(config: Config, *, store: Store | None = None) -> web.Application:
    """Build the application. ``store`` lets a caller share one already-configured store (tests do)."""
    app = web.Application(
        middlewares=[
            hardening.compression,
            forwarded_middleware,
            metrics_middleware,
            remember_language,
            error_middleware,
            hardening.body_limit,
        ],
        client_max_size=MAX_REQUEST_BYTES,
        # aiohttp rounds a timer longer than this up to the next whole second: the sockets' 10 s heartbeat would
        # ping up to 1 s late, and a silent browser be dropped after 16 s instead of the 15 the protocol says
        handler_args={"timeout_ceil_threshold": 2 * HEARTBEAT_SECONDS},
    )
    store = store or Store(redis_url=config.redis_url, data_dir=config.data_dir, appendfsync=config.appendfsync)
    registry = CollectorRegistry()
    app[keys.CONFIG] = config
    app[keys.BACKGROUND] = Background()  # every long-lived loop runs under it (scheduler/background.py)
    app[keys.STORE] = store
    app[keys.ACCOUNTS] = AccountStore(store.redis)
    app[keys.SESSIONS] = SessionStore(store.redis, lifetime_seconds=config.session_hours * 3600)
    app[keys.THROTTLE] = LoginThrottle(
        store.redis,
        failures_allowed=config.login_failures_allowed,
        window_seconds=config.login_failure_window_seconds,
    )
    app[keys.UNITS] = RedisUnitStore(store.redis)
    app[keys.MEETINGS] = RedisMeetingStore(store.redis)
    app[keys.CLOCK] = Clock()
    app[keys.ATTENDANCE] = RedisAttendanceLog(store.redis)
    app[keys.READINESS] = ReadinessStore(store.redis)
    app[keys.MINUTES] = MinutesStore(store.redis)
    app[keys.SIGNER] = Signer(store.redis)
    app[keys.RECORDINGS] = RecordingCatalogue(store.redis)
    app[keys.PROGRAM_JOBS] = ProgramJobs(store.redis)
    app[keys.OUTBOX] = Outbox(store.redis, first_retry_seconds=config.mail_retry_seconds)
    app[keys.MAIL_SENDER] = MailSender(app[keys.OUTBOX], smtp_settings(config)) if config.smtp_host else None
    app[keys.I18N] = I18n(config.default_language)
    app[keys.INVITATIONS] = Invitations(
        links=JoinLinks(store.redis, config.base_url),
        outbox=app[keys.OUTBOX],
        units=app[keys.UNITS],
        meetings=app[keys.MEETINGS],
        i18n=app[keys.I18N],
        language=config.default_language,
        sender=config.smtp_from,
        reminder_minutes=config.reminder_minutes,
        mail_server=bool(config.smtp_host),
    )
    app[keys.METRICS_REGISTRY] = registry
    app[keys.HTTP_METRICS] = HttpMetrics(registry)
    registry.register(BackgroundCollector(app[keys.BACKGROUND]))
    app[keys.SHUTDOWN] = Shutdown()
    app[keys.OPENAPI] = openapi_document(API_ENDPOINTS, title="giaoban API", version=VERSION)

    add_endpoints(app, API_ENDPOINTS)
    add_health_routes(app)
    add_page_routes(app)
    add_code_routes(app)
    add_verify_routes(app)
    add_admin_routes(app)
    add_room_page_routes(app)
    add_check_routes(app)
    add_meeting_page_routes(app)
    add_minutes_routes(app)
    add_recording_page_routes(app)
    add_live_routes(app)
    add_static_routes(app, STATIC_DIR)
    hardening.install(app)
    app.cleanup_ctx.append(store_lifecycle)
    app.cleanup_ctx.append(mail_lifecycle)  # after the store: stops before it
    app.cleanup_ctx.append(recordings_lifecycle)  # the program worker gives its job back before the store stops
    app.cleanup_ctx.append(live_lifecycle)  # rooms end (and write their attendance) before the store stops
    return app


def smtp_settings(config: Config) -> SmtpSettings:
    return SmtpSettings(
        host=config.smtp_host,
        port=config.smtp_port,
        sender=config.smtp_from,
        username=config.smtp_user,
        password=config.smtp_password,
        starttls=config.smtp_starttls,
    )


@web.middleware
async def remember_language(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``?lang=en`` on any page switches the language and keeps it in a cookie."""
    response = await handler(request)
    chosen = request.query.get(LANGUAGE_QUERY, "")
    if chosen in LANGUAGES and request.cookies.get(LANGUAGE_COOKIE) != chosen and not response.prepared:
        response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=365 * 86400, samesite="Lax", httponly=True, path="/")
    return response
