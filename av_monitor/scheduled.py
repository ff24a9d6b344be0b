"""Body of the recordings' retention job (a `f(session, *, now) -> dict` the runner claims and commits)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from av_monitor import recordings


def recording_retention(session: Session, *, now: datetime) -> dict[str, Any]:
    """Remove room recordings past recording_retention_days, ledgering each (av_monitor.recordings.sweep)."""
    return recordings.sweep(session, now=now)


# Job id -> body; the runner (api.jobs.bodies) joins these with the other packages' bodies.
BODIES = {"recording.retention": recording_retention}
