"""The time, asked in one place, so that tests (and a replay) can set it."""

from __future__ import annotations

from datetime import UTC, datetime


class Clock:
    def __init__(self) -> None:
        self._fixed: datetime | None = None

    def now(self) -> datetime:
        return self._fixed or datetime.now(UTC)

    def set(self, moment: datetime | None) -> None:
        """Stop the clock at ``moment``; ``None`` lets it run again."""
        self._fixed = moment
