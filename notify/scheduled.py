"""Body of the outbox job: send the due messages (a `f(session, *, now) -> dict` the runner claims and commits)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from notify import service


def dispatch_notifications(session: Session, *, now: datetime) -> dict[str, Any]:
    """Send the due outbox messages (notify.service.dispatch_pending)."""
    return {"count": int(service.dispatch_pending(session, now=now) or 0)}


# Job id -> body; the runner (api.jobs.bodies) joins these with the other packages' bodies.
BODIES = {"notify.dispatch": dispatch_notifications}
