"""The service's clock and time helpers: one place to read the time, so tests can move it (`clock.now`)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def as_aware(value: datetime) -> datetime:
    """A stored datetime as aware UTC: SQLite hands back naive values, stored from aware UTC ones."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
