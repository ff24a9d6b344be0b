"""Closures of sites and rooms, and the windows in which a room cannot be used (closed or outside its hours).

The draw knows neither: `unavailable_windows` turns them into whole-room bookings (rule S4) for the
export, so the draw never seats anybody in a closed room.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from sqlalchemy import or_
from sqlmodel import Session, col, select

import ledger
from config import clock
from venues.exceptions import InvalidVenueDataError
from venues.models import Closure, ClosureCreate, ClosurePublic, Room, Site
from venues.service import get_room_by_code, get_site_by_code

logger = logging.getLogger(__name__)
Span = tuple[datetime, datetime]


def create_closure(session: Session, *, data: ClosureCreate, actor: str) -> Closure:
    """Close a site (or one of its rooms) during [start, end)."""
    site = get_site_by_code(session, code=data.site_code)
    room_id = None
    if data.room_code is not None:
        room = get_room_by_code(session, code=data.room_code)
        if room.site_id != site.id:
            error = InvalidVenueDataError(f"room {data.room_code} is not a room of site {data.site_code}")
            error.explain("venues.room_not_of_site", room=data.room_code, site=data.site_code)
            raise error
        room_id = room.id
    assert site.id is not None
    closure = Closure(site_id=site.id, room_id=room_id, start=data.start, end=data.end, reason=data.reason,
                      created_by=actor, created_at=clock.now())
    session.add(closure)
    session.flush()
    ledger.append(session, kind="venue.closure.create", subject=f"closure:{closure.id}", actor=actor,
                  payload={"site": data.site_code, "room": data.room_code, "start": data.start.isoformat(),
                           "end": data.end.isoformat(), "reason": data.reason})
    logger.info("closure %s of site %s (room %s) created", closure.id, data.site_code, data.room_code or "-")
    return closure


def get_closure(session: Session, *, closure_id: int) -> Closure | None:
    """The closure with this id, or None."""
    return session.get(Closure, closure_id)


def list_closures(
    session: Session, *, site_ids: Iterable[int] | None = None, start: datetime | None = None,
    end: datetime | None = None,
) -> list[Closure]:
    """Closures by start, optionally of some sites and overlapping [start, end)."""
    stmt = select(Closure)
    if site_ids is not None:
        stmt = stmt.where(col(Closure.site_id).in_(list(site_ids)))
    if end is not None:
        stmt = stmt.where(col(Closure.start) < end)
    if start is not None:
        stmt = stmt.where(col(Closure.end) > start)
    return list(session.exec(stmt.order_by(col(Closure.start), col(Closure.id))).all())


def delete_closure(session: Session, *, closure: Closure, actor: str) -> None:
    """Reopen: remove the closure (ledgered with what it was)."""
    seen = public(session, closure)
    session.delete(closure)
    session.flush()
    ledger.append(session, kind="venue.closure.delete", subject=f"closure:{seen.id}", actor=actor,
                  payload={"site": seen.site_code, "room": seen.room_code, "start": seen.start.isoformat(),
                           "end": seen.end.isoformat()})


def public(session: Session, closure: Closure) -> ClosurePublic:
    """The closure with its site and room codes."""
    site = session.get(Site, closure.site_id)
    room = session.get(Room, closure.room_id) if closure.room_id is not None else None
    assert site is not None and closure.id is not None
    return ClosurePublic(id=closure.id, site_code=site.code, room_code=room.code if room else None,
                         start=closure.start, end=closure.end, reason=closure.reason,
                         created_by=closure.created_by, created_at=closure.created_at)


# --- What the draw must not use -----------------------------------------------------------------


def _merge(spans: Iterable[Span]) -> list[Span]:
    out: list[Span] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _clip(blocked: Iterable[Span], windows: list[Span]) -> list[Span]:
    """The parts of `blocked` inside `windows` (both lists of [start, end))."""
    out = []
    for bs, be in blocked:
        for ws, we in windows:
            s, e = max(bs, ws), min(be, we)
            if s < e:
                out.append((s, e))
    return _merge(out)


def _outside_hours(room: Room, window: Span, tz: timezone) -> list[Span]:
    """The parts of `window` outside the room's daily opening hours (local time at `tz`)."""
    if room.opens_at is None or room.closes_at is None:
        return []
    ws, we = window
    out = []
    day = ws.astimezone(tz).date() - timedelta(days=1)
    while datetime.combine(day, room.opens_at, tz) < we:
        # Closed from this day's closing to the next day's opening.
        closed_from = datetime.combine(day, room.closes_at, tz)
        closed_to = datetime.combine(day + timedelta(days=1), room.opens_at, tz)
        out.append((closed_from, closed_to))
        day += timedelta(days=1)
    return _clip(out, [window])


def unavailable_windows(session: Session, *, spans: list[Span], tz: timezone) -> list[tuple[Room, Span]]:
    """Per room, the merged parts of `spans` (the projects' windows) when it is closed or outside its hours."""
    windows = _merge(spans)
    if not windows:
        return []
    lo, hi = windows[0][0], windows[-1][1]
    closures = session.exec(select(Closure).where(col(Closure.start) < hi, col(Closure.end) > lo)).all()
    rooms = list(session.exec(select(Room).where(or_(col(Room.opens_at).is_not(None),
                                                     col(Room.site_id).in_({c.site_id for c in closures})))))
    by_site: dict[int, list[Span]] = defaultdict(list)
    by_room: dict[int, list[Span]] = defaultdict(list)
    for c in closures:
        (by_site[c.site_id] if c.room_id is None else by_room[c.room_id]).append((c.start, c.end))
    out: list[tuple[Room, Span]] = []
    for room in sorted(rooms, key=lambda r: r.code):
        assert room.id is not None
        blocked = _clip(by_site.get(room.site_id, []) + by_room.get(room.id, []), windows)
        for window in windows:
            blocked += _outside_hours(room, window, tz)
        out.extend((room, span) for span in _merge(blocked))
    return out
