"""Schedule-driven recording: which rooms hold an evaluation now, and the hub's loop that follows it.

A room is *scheduled* at `now` when a live project (drawn, evaluating or done) holds seats in it
and `now` lies in [start − checkin_open_minutes, end + recording_after_minutes]: the check-in
window, the evaluation and a margin afterwards are all on record. A bid-opening room is scheduled
while a public opening of it runs, from `opening_lead_minutes` before its start to
`recording_after_minutes` after its end.

With `recording_mode = "schedule"` the hub runs `follow_schedule`: every
`recording_schedule_interval_seconds` it asks the database (in a worker thread, never on the event
loop) which rooms are scheduled, then calls `start_recording` for rooms newly scheduled (recorded
from then on, at once if publishing, else when a publisher arrives) and `stop_recording` for rooms
no longer scheduled (the recording is finished, its playlist closed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlmodel import Session, col, select

from config import clock, db
from config.settings import Settings, get_settings
from evaluation.models import HOLDING, Project, Seat
from openings import service as openings
from venues.models import Room

logger = logging.getLogger(__name__)


class RecordingHub(Protocol):
    """What the loop needs of `av_monitor.webrtc.RoomHub`."""

    settings: Settings

    def recording_rooms(self) -> set[str]: ...
    async def start_recording(self, room_code: str) -> None: ...
    async def stop_recording(self, room_code: str) -> None: ...


def scheduled_rooms(session: Session, *, now: datetime, settings: Settings | None = None) -> set[str]:
    """Codes of the rooms where an evaluation is scheduled at `now` (check-in opening to end + margin)."""
    s = settings or get_settings()
    # start − open ≤ now ≤ end + after, rewritten so the columns stand alone (and indexes can serve).
    latest_start = now.astimezone(UTC) + timedelta(minutes=s.checkin_open_minutes)
    earliest_end = now.astimezone(UTC) - timedelta(minutes=s.recording_after_minutes)
    stmt = (select(Room.code).join(Seat, col(Seat.room_id) == col(Room.id))
            .join(Project, col(Project.id) == col(Seat.project_id))
            .where(col(Project.status).in_(HOLDING), col(Project.start) <= latest_start,
                   col(Project.end) >= earliest_end).distinct())
    # A public bid opening is on record like an evaluation (its lead time to its end + the margin).
    return set(session.exec(stmt).all()) | openings.recorded_rooms(session, now=now, settings=s)


def is_scheduled(session: Session, *, room_code: str, now: datetime, settings: Settings | None = None) -> bool:
    """True when an evaluation is scheduled in room `room_code` at `now`."""
    return room_code in scheduled_rooms(session, now=now, settings=settings)


def _query(now: Callable[[], datetime], settings: Settings) -> set[str]:
    with Session(db.get_engine()) as session:
        return scheduled_rooms(session, now=now(), settings=settings)


async def apply(hub: RecordingHub, wanted: set[str]) -> None:
    """Start recording the rooms in `wanted` not yet recorded, stop those recorded but no longer wanted."""
    current = hub.recording_rooms()
    for code in sorted(wanted - current):
        logger.info("room %s: evaluation scheduled, recording on", code)
        await hub.start_recording(code)
    for code in sorted(current - wanted):
        logger.info("room %s: no evaluation scheduled any more, recording off", code)
        await hub.stop_recording(code)


async def follow_schedule(hub: RecordingHub, *, now: Callable[[], datetime] | None = None) -> None:
    """Forever: apply the schedule to the hub, then wait `recording_schedule_interval_seconds`."""
    while True:
        try:
            wanted = await asyncio.to_thread(_query, now or clock.now, hub.settings)
            await apply(hub, wanted)
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup must not end scheduled recording for good; the next pass retries
            logger.exception("the recording schedule could not be checked")
        await asyncio.sleep(hub.settings.recording_schedule_interval_seconds)
