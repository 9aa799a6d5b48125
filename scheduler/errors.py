"""The one error vocabulary of giaoban.

Every layer raises these; only two edges translate them for people: the aiohttp error middleware (HTTP status +
JSON or an HTML page) and, later, the WebSocket error mapper. Messages are English gettext message ids with
``{name}`` placeholders, so each edge can translate them into the reader's language before formatting.

This module is pure (no I/O, no third-party imports) so that every package may import it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


def N_(message: str) -> str:
    """Marks a message id for extraction where it is not passed straight to an error (gettext convention)."""
    return message


@dataclass(frozen=True)
class Problem:
    """One precise thing wrong with an input: a field name or a row number, and why."""

    where: str | int
    message: str
    params: Mapping[str, Any] = field(default_factory=dict)


class GiaobanError(Exception):
    """Base of the vocabulary. ``code`` is stable and machine-readable; ``message`` is a message id."""

    code = "error"

    def __init__(self, message: str, *, problems: Sequence[Problem] = (), **params: Any) -> None:
        super().__init__(message.format(**params) if params else message)
        self.message = message
        self.params = params
        self.problems = tuple(problems)


class MalformedInput(GiaobanError):
    """The request cannot be understood: not JSON, wrong shape, wrong content type."""

    code = "malformed_input"


class InvalidInput(GiaobanError):
    """The request is well formed but its content breaks a rule (unknown parent, end before start...)."""

    code = "invalid_input"


class ProtocolError(GiaobanError):
    """A signaling peer broke the protocol."""

    code = "protocol_error"


class NotAuthenticated(GiaobanError):
    """Nobody is signed in, or the credentials are wrong."""

    code = "not_authenticated"


class NotAuthorised(GiaobanError):
    """Signed in, but this role may not do this."""

    code = "not_authorised"


class NotFound(GiaobanError):
    code = "not_found"


class Conflict(GiaobanError):
    """The request collides with the current state (already exists, already running, changed meanwhile)."""

    code = "conflict"


class TooManyAttempts(GiaobanError):
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after_seconds: int, **params: Any) -> None:
        super().__init__(message, **params)
        self.retry_after_seconds = retry_after_seconds


class RateLimited(GiaobanError):
    """Too much, too fast: from one signaling connection, one address or one join link."""

    code = "rate_limited"


class StoreUnavailable(GiaobanError):
    """Redis/Valkey cannot be reached; the request may succeed later."""

    code = "store_unavailable"


def error_of(code: str, message: str, params: Mapping[str, Any]) -> GiaobanError:
    """The error another server named by its code (its message id and parameters kept, so that it is translated
    here as it would have been there); the base error for a code this version does not know."""
    kinds: list[type[GiaobanError]] = [GiaobanError]
    for kind in kinds:
        kinds.extend(kind.__subclasses__())
    found = next((kind for kind in kinds if kind.code == code), GiaobanError)
    named = {str(name): value for name, value in params.items()}
    try:
        return found(message, **named)
    except TypeError:  # one that needs more than a message (TooManyAttempts): the base error says the same
        return GiaobanError(message, **named)
