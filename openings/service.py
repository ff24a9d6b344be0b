"""Public openings: a room's purpose, openings made and revoked, the anonymous link's checks, view counts.

Every change is ledgered (`opening.*`). Anonymous views are counted on the opening's row (views,
peak at once), not ledgered one by one: an anonymous crowd must not be able to grow the ledger.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import case, update
from sqlmodel import Session, col, select

import ledger
from config.clock import as_aware
from config.settings import Settings, get_settings
from evaluation.models import HOLDING, Project, Seat
from openings.exceptions import OpeningNotFound, OpeningNotLive, OpeningRefused
from openings.models import OpeningFacts, OpeningStatus, PublicOpening, PublicOpeningCreate, PublicOpeningPublic
from venues import service as venues
from venues.models import Room, RoomPurpose

logger = logging.getLogger(__name__)


def _lead(settings: Settings) -> timedelta:
    return timedelta(minutes=settings.opening_lead_minutes)


def status(opening: PublicOpening, *, now: datetime, settings: Settings | None = None) -> OpeningStatus:
    """Revoked, scheduled (before start − lead), live (until its end) or ended."""
    s = settings or get_settings()
    if opening.revoked_at is not None:
        return "revoked"
    if now < as_aware(opening.start) - _lead(s):
        return "scheduled"
    return "live" if now <= as_aware(opening.end) else "ended"


def public(session: Session, opening: PublicOpening, *, now: datetime) -> PublicOpeningPublic:
    """The staff view of an opening."""
    room = session.get(Room, opening.room_id)
    assert room is not None and opening.id is not None
    return PublicOpeningPublic(
        id=opening.id, room_code=room.code, title=opening.title, start=opening.start, end=opening.end,
        status=status(opening, now=now), watch_path=f"/watch/{opening.token}", created_by=opening.created_by,
        created_at=opening.created_at, revoked_at=opening.revoked_at, views=opening.views,
        peak_viewers=opening.peak_viewers)


def facts(opening: PublicOpening, *, now: datetime) -> OpeningFacts:
    """What the public may read of an opening."""
    return OpeningFacts(title=opening.title, start=opening.start, end=opening.end, status=status(opening, now=now),
                        opens_at=as_aware(opening.start) - _lead(get_settings()))


def _evaluations_in(session: Session, room: Room, *, start: datetime, end: datetime | None) -> list[str]:
    """Codes of the drawn projects seated in `room` whose evaluation overlaps [start, end] (None: no end)."""
    stmt = (select(Project.code).join(Seat, col(Seat.project_id) == col(Project.id))
            .where(Seat.room_id == room.id, col(Project.status).in_(HOLDING), col(Project.end) >= start))
    if end is not None:
        stmt = stmt.where(col(Project.start) <= end)
    return sorted(session.exec(stmt.distinct()).all())


def _open_openings(session: Session, room: Room, *, now: datetime) -> list[PublicOpening]:
    stmt = select(PublicOpening).where(PublicOpening.room_id == room.id, col(PublicOpening.revoked_at).is_(None),
                                       col(PublicOpening.end) >= now)
    return list(session.exec(stmt).all())


def set_room_purpose(session: Session, *, room_code: str, purpose: RoomPurpose, actor: str,
                     now: datetime) -> Room:
    """Make a room an evaluation room or a bid-opening room; refused while it holds the other kind (flushes)."""
    room = venues.get_room_by_code(session, code=room_code)
    if room.purpose == purpose:
        return room
    if purpose == "opening":
        held = _evaluations_in(session, room, start=now, end=None)
        if held:
            raise OpeningRefused(f"room {room.code} holds the seats of {', '.join(held)}: it stays an evaluation "
                                 "room until they end (replace or re-plan them first)", field="purpose",
                                 key="openings.room_holds_evaluations", room=room.code, projects=", ".join(held))
    elif _open_openings(session, room, now=now):
        raise OpeningRefused(f"room {room.code} has public openings to come: revoke them first", field="purpose",
                             key="openings.room_has_openings", room=room.code)
    before, room.purpose = room.purpose, purpose
    session.add(room)
    ledger.append(session, kind="opening.room_purpose", subject=f"room:{room.code}", actor=actor,
                  payload={"from": before, "to": purpose})
    session.flush()
    logger.info("room %s: purpose %s -> %s", room.code, before, purpose)
    return room


def create_opening(session: Session, *, room_code: str, data: PublicOpeningCreate, actor: str, now: datetime,
                   settings: Settings | None = None) -> PublicOpening:
    """A public opening of a bid-opening room for [start, end], with a new watch link (flushes, ledgered)."""
    s = settings or get_settings()
    room = venues.get_room_by_code(session, code=room_code)
    if room.purpose != "opening":
        # The integrity rule of the product: an evaluation room is never shown to the public.
        raise OpeningRefused(f"room {room.code} is an evaluation room: only a bid-opening room can be public "
                             "(an admin sets a room's purpose)", field="room_code",
                             key="openings.not_opening_room", room=room.code)
    if as_aware(data.end) <= now:
        raise OpeningRefused("the opening's end has passed", field="end", key="openings.ended_already")
    if data.end - data.start > timedelta(hours=s.opening_max_hours):
        raise OpeningRefused(f"an opening lasts at most {s.opening_max_hours:g} h (opening_max_hours)",
                             field="end", key="openings.too_long", hours=f"{s.opening_max_hours:g}")
    lead_start = data.start - _lead(s)
    held = _evaluations_in(session, room, start=lead_start, end=data.end)
    if held:  # a room seated before its purpose changed (e.g. imported data): still never public
        raise OpeningRefused(f"room {room.code} holds the seats of {', '.join(held)} in that window",
                             field="room_code", key="openings.room_holds_evaluations", room=room.code,
                             projects=", ".join(held))
    clash = [o for o in _open_openings(session, room, now=now)
             if as_aware(o.start) < as_aware(data.end) and as_aware(data.start) < as_aware(o.end)]
    if clash:
        raise OpeningRefused(f"room {room.code} already has the opening {clash[0].title!r} in that window",
                             field="start", key="openings.overlap", room=room.code, title=clash[0].title)
    assert room.id is not None
    opening = PublicOpening(room_id=room.id, title=data.title, start=data.start, end=data.end,
                            token=secrets.token_urlsafe(24), created_by=actor, created_at=now)
    session.add(opening)
    session.flush()
    ledger.append(session, kind="opening.created", subject=f"room:{room.code}", actor=actor,
                  payload={"opening": opening.id, "title": opening.title, "start": data.start.isoformat(),
                           "end": data.end.isoformat()})
    return opening


def get_opening(session: Session, *, opening_id: int) -> PublicOpening | None:
    """The opening with this id, or None."""
    return session.get(PublicOpening, opening_id)


def list_openings(session: Session, *, room: Room) -> list[PublicOpening]:
    """The room's openings, latest start first."""
    stmt = select(PublicOpening).where(PublicOpening.room_id == room.id).order_by(col(PublicOpening.start).desc())
    return list(session.exec(stmt).all())


def revoke_opening(session: Session, *, opening: PublicOpening, actor: str, now: datetime) -> PublicOpening:
    """End the opening's link now (its viewers are disconnected within seconds); flushes, ledgered."""
    if opening.revoked_at is None:
        opening.revoked_at = now
        session.add(opening)
        room = session.get(Room, opening.room_id)
        ledger.append(session, kind="opening.revoked", subject=f"room:{room.code if room else opening.room_id}",
                      actor=actor, payload={"opening": opening.id, "views": opening.views,
                                            "peak_viewers": opening.peak_viewers})
        session.flush()
    return opening


def _no_link() -> OpeningNotFound:
    # One answer for unknown, revoked and no longer public: a link's state cannot be probed.
    return OpeningNotFound("no public opening has this link (or it was revoked)", field="token",
                           key="openings.not_found")


def by_token(session: Session, *, token: str) -> PublicOpening | None:
    """The opening whose link has this token, unless revoked."""
    opening = session.exec(select(PublicOpening).where(PublicOpening.token == token)).first() \
        if 16 <= len(token) <= 64 else None
    return opening if opening is not None and opening.revoked_at is None else None


def by_token_or_error(session: Session, *, token: str) -> PublicOpening:
    """The opening whose link has this token, unless revoked; else OpeningNotFound naming `token`."""
    opening = by_token(session, token=token)
    if opening is None:
        raise _no_link()
    return opening


def watchable(session: Session, *, token: str, now: datetime) -> tuple[PublicOpening, Room]:
    """The opening of this link and its room while the public may watch; else why not."""
    opening = by_token(session, token=token)
    room = session.get(Room, opening.room_id) if opening is not None else None
    if opening is None or room is None:
        raise _no_link()
    st = status(opening, now=now)
    if st == "scheduled":
        opens = facts(opening, now=now).opens_at
        raise OpeningNotLive(f"the opening is not on yet: the link shows the room from {opens.isoformat()}",
                             field="token", key="openings.not_yet", at=opens.isoformat())
    if st == "ended":
        raise OpeningNotLive("the opening is over", field="token", key="openings.over")
    # Checked at every view, not only when the opening was made: the room must still be a bid-opening room.
    if room.purpose != "opening" or _evaluations_in(session, room, start=now, end=now):
        raise _no_link()
    return opening, room


def live_tokens(session: Session, *, tokens: set[str], now: datetime) -> set[str]:
    """Those of `tokens` whose openings the public may still watch at `now`."""
    if not tokens:
        return set()
    rows = session.exec(select(PublicOpening).where(col(PublicOpening.token).in_(tokens))).all()
    live = set()
    for opening in rows:
        try:
            watchable(session, token=opening.token, now=now)
        except (OpeningNotFound, OpeningNotLive):
            continue
        live.add(opening.token)
    return live


def count_view(session: Session, *, opening_id: int, watching: int) -> None:
    """One more view; the peak becomes `watching` if higher (one UPDATE: concurrent views add up; flushes)."""
    peak = case((col(PublicOpening.peak_viewers) < watching, watching), else_=col(PublicOpening.peak_viewers))
    session.execute(update(PublicOpening).where(col(PublicOpening.id) == opening_id)
                    .values(views=col(PublicOpening.views) + 1, peak_viewers=peak))


def recorded_rooms(session: Session, *, now: datetime, settings: Settings | None = None) -> set[str]:
    """Codes of the rooms with a public opening to record at `now` (start − lead to end + recording margin)."""
    s = settings or get_settings()
    latest_start = now + _lead(s)
    earliest_end = now - timedelta(minutes=s.recording_after_minutes)
    stmt = (select(Room.code).join(PublicOpening, col(PublicOpening.room_id) == col(Room.id))
            .where(col(PublicOpening.revoked_at).is_(None), col(PublicOpening.start) <= latest_start,
                   col(PublicOpening.end) >= earliest_end, Room.purpose == "opening").distinct())
    return set(session.exec(stmt).all())
