"""Join links: one signed token per (meeting, unit, role), valid from lobby opening until two hours after the end.

A token is ``base64url(JSON [scope, unit, role, generation]) "." base64url(HMAC-SHA256[:16])``; the scope is the
meeting's id, or ``series:<id>`` for every occurrence of a weekly series (a unit keeps one link for the whole
series, and it opens the occurrence of the moment: ``meeting_for``). It carries no time: validity follows the
meeting as it is now, so a rescheduled meeting needs no new links. Regenerating a
unit's link bumps its generation; older tokens then fail. The secret lives in Redis so that every server process
of a deployment accepts the links of the others.

Key layout:
- ``SECRET_KEY`` (string): the HMAC secret, created once with SET NX.
- ``GENERATIONS_KEY.format(scope)`` (hash): unit code → generation of its current link.
- ``CODES_KEY.format(digits)`` (string, expiring two hours after the meeting's end): a short code → the token it
  stands for.

Besides its link, every unit gets a short code (``482-915-307``) that can be read out over the phone and typed on
the home page. Nine digits: with thousands of codes live at once a guess finds one about once in a hundred thousand
tries, and guesses are limited per address (``web/codes.py``). A code is derived from its token (HMAC), so every
process gives the same code for the same link; a new link gets a new code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis

from scheduler.errors import NotAuthorised, NotFound
from scheduler.meetings.model import VIETNAM, Meeting
from scheduler.meetings.store import MeetingStore

SECRET_KEY = "giaoban:secret:join-tokens"
GENERATIONS_KEY = "giaoban:meeting:{}:link-generations"
CODES_KEY = "giaoban:join-code:{}"
CODE_DIGITS = 9
CODE_MIN_LIFE = 86_400  # seconds
VALID_AFTER_END = timedelta(hours=2)
MAX_TOKEN_LENGTH = 512
ROLES = ("chair", "participant")
SERIES_SCOPE = "series:"


@dataclass(frozen=True)
class JoinGrant:
    meeting_id: str  # the link's scope: a meeting's id, or "series:<id>"
    unit: str
    role: str
    generation: int


def role_of(meeting: Meeting, unit: str) -> str | None:
    if unit == meeting.chair_unit:
        return "chair"
    return "participant" if unit in meeting.invited_units else None


def link_scope(meeting: Meeting) -> str:
    return f"{SERIES_SCOPE}{meeting.series_id}" if meeting.series_id else meeting.id


def current_occurrence(occurrences: list[Meeting], now: datetime) -> Meeting:
    """The occurrence a series link opens now: one whose room is open (live first), else the next to come (its
    technical check, and when its room opens), else the last."""
    kept = [m for m in occurrences if not m.cancelled] or occurrences
    open_now = [m for m in kept if m.live_state != "ended" and (m.rehearsing(now) or
                m.lobby_opens_at <= now <= m.ends_at + VALID_AFTER_END)]  # fmt: skip
    if open_now:
        return next((m for m in open_now if m.live_state == "live"), open_now[0])
    return next((m for m in kept if m.starts_at > now), kept[-1])


async def meeting_for(grant: JoinGrant, meetings: MeetingStore, now: datetime) -> Meeting:
    """The meeting a link opens now: its own, or its series' occurrence of the moment."""
    if not grant.meeting_id.startswith(SERIES_SCOPE):
        return await meetings.get(grant.meeting_id)
    occurrences = await meetings.series(grant.meeting_id.removeprefix(SERIES_SCOPE))
    if not occurrences:
        raise NotFound("No meeting {id}", id=grant.meeting_id)
    return current_occurrence(occurrences, now)


def _check_invited(meeting: Meeting, grant: JoinGrant) -> None:
    if role_of(meeting, grant.unit) != grant.role:
        raise NotAuthorised("This link is no longer valid: the unit is not invited any more")
    if meeting.cancelled:
        raise NotAuthorised("This meeting was cancelled")


def check_window(meeting: Meeting, grant: JoinGrant, now: datetime) -> None:
    """Refuse, with the reason a person can act on, a link that does not open this meeting now."""
    _check_invited(meeting, grant)
    if now < meeting.lobby_opens_at and not meeting.rehearsing(now):
        raise NotAuthorised("The meeting room opens at {time}",
                            time=meeting.lobby_opens_at.astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y"))  # fmt: skip
    if now > meeting.ends_at + VALID_AFTER_END or meeting.live_state == "ended":
        raise NotAuthorised("This meeting has ended; the link no longer works")


def check_window_for_check(meeting: Meeting, grant: JoinGrant, now: datetime) -> None:
    """A technical check is open to a unit's link from when it is sent until the meeting ends."""
    _check_invited(meeting, grant)
    if meeting.state(now) == "ended":
        raise NotAuthorised("This meeting has ended; the link no longer works")


class JoinLinks:
    def __init__(self, redis: Redis, base_url: str) -> None:
        self._redis = redis
        self._base_url = base_url.rstrip("/")
        self._cached_secret: bytes | None = None  # never rotates once made: one read per process

    async def url_for(self, meeting: Meeting, unit: str, at: str = "") -> str:
        """The unit's link; ``at``: the district server its staff join through (``server_of``), if not here."""
        role = role_of(meeting, unit)
        if role is None:
            raise NotAuthorised("Unit {unit} is not invited to this meeting", unit=unit)
        scope = link_scope(meeting)
        generation = int(await self._redis.hget(GENERATIONS_KEY.format(scope), unit) or 0)
        token = _sign(JoinGrant(scope, unit, role, generation), await self._secret())
        return f"{(at or self._base_url).rstrip('/')}/j/{token}"

    async def regenerate(self, meeting: Meeting, unit: str, at: str = "") -> str:
        if role_of(meeting, unit) is None:
            raise NotAuthorised("Unit {unit} is not invited to this meeting", unit=unit)
        await self._redis.hincrby(GENERATIONS_KEY.format(link_scope(meeting)), unit, 1)
        return await self.url_for(meeting, unit, at)

    async def code_for(self, meeting: Meeting, join_url: str) -> str:
        """The short code of a unit's current link (``url_for``'s), kept until the link stops working."""
        token = join_url.rsplit("/", 1)[1]
        # until its link stops working, and a day at least: the join page says why a link does not open the
        # meeting now, and the code should lead there rather than to "no such code"
        expires = max(int((meeting.ends_at + VALID_AFTER_END).timestamp()), int(time.time()) + CODE_MIN_LIFE)
        secret = await self._secret()
        for salt in range(8):  # another live link has these digits (about one in 10^5 at a province's size)
            digits = _code_digits(token, secret, salt)
            key = CODES_KEY.format(digits)
            if await self._redis.set(key, token, exat=expires, nx=True):
                return _readable(digits)
            if await self._redis.get(key) == token:
                await self._redis.expireat(key, expires, gt=True)  # it may have moved; a series' lasts longest
                return _readable(digits)
        raise RuntimeError("no free short code")  # 8 collisions in a row: 10^-40

    async def token_of_code(self, code: str) -> str | None:
        """The token a typed code stands for (spaces, dashes and dots ignored), or None."""
        digits = "".join(ch for ch in code if ch.isdigit())
        if len(digits) != CODE_DIGITS or len(code) > 40:
            return None
        token: str | None = await self._redis.get(CODES_KEY.format(digits))
        return token

    async def grant_of(self, token: str) -> JoinGrant:
        """The grant a token carries, if its signature and generation hold; time is checked by the caller."""
        grant = _verify(token, await self._secret())
        current = int(await self._redis.hget(GENERATIONS_KEY.format(grant.meeting_id), grant.unit) or 0)
        if grant.generation != current:
            raise NotAuthorised("This link was replaced by a newer one; use the link in the latest invitation")
        return grant

    async def is_ours(self, token: str) -> bool:
        """Whether this server signed the token (a district server is brought its province's links too)."""
        payload, _, mac = token.partition(".")
        return (
            bool(payload)
            and len(token) <= MAX_TOKEN_LENGTH
            and hmac.compare_digest(mac, _mac(payload, await self._secret()))
        )

    async def _secret(self) -> bytes:
        if self._cached_secret is None:
            await self._redis.set(SECRET_KEY, secrets.token_hex(32), nx=True)  # the first process makes it
            self._cached_secret = bytes.fromhex(await self._redis.get(SECRET_KEY))
        return self._cached_secret


def _code_digits(token: str, secret: bytes, salt: int) -> str:
    digest = hmac.new(secret, f"code|{salt}|{token}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def _readable(digits: str) -> str:
    return "-".join(digits[i : i + 3] for i in range(0, len(digits), 3))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(payload: str, secret: bytes) -> str:
    return _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest()[:16])


def _sign(grant: JoinGrant, secret: bytes) -> str:
    payload = _b64(json.dumps([grant.meeting_id, grant.unit, grant.role, grant.generation],
                              separators=(",", ":"), ensure_ascii=False).encode())  # fmt: skip
    return f"{payload}.{_mac(payload, secret)}"


def _verify(token: str, secret: bytes) -> JoinGrant:
    invalid = NotAuthorised("This link is not valid; check that it was copied whole")
    payload, _, mac = token.partition(".")
    if len(token) > MAX_TOKEN_LENGTH or not payload or not hmac.compare_digest(mac, _mac(payload, secret)):
        raise invalid
    try:
        meeting_id, unit, role, generation = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        raise invalid from None
    if role not in ROLES or not isinstance(generation, int):
        raise invalid
    return JoinGrant(str(meeting_id), str(unit), role, generation)
