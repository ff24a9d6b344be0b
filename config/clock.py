"""The service's clock: one place to read the time, so tests can move it (`clock.now`)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)
