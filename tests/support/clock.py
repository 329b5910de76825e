"""A clock tests can freeze and move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FrozenClock:
    """Returns a fixed time until moved."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 23, 9, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move forward by ``timedelta(**delta)``."""
        self.now += timedelta(**delta)
