"""Services of the venues domain: sites, rooms and room bookings.

Functions flush but never commit: the caller owns the transaction (config.db.session_scope).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

from config.db import flush_unique
from venues.exceptions import DuplicateCodeError, InvalidVenueDataError, NotFoundError
from venues.geo import haversine_km
from venues.models import (
    Room,
    RoomBooking,
    RoomBookingCreate,
    RoomCreate,
    RoomUpdate,
    Site,
    SiteCreate,
    SiteKind,
    SiteUpdate,
)

logger = logging.getLogger(__name__)


def _site_or_none(session: Session, code: str) -> Site | None:
    return session.exec(select(Site).where(Site.code == code)).first()


def _room_or_none(session: Session, code: str) -> Room | None:
    return session.exec(select(Room).where(Room.code == code)).first()


def create_site(session: Session, *, data: SiteCreate) -> Site:
    """Create a site; DuplicateCodeError when its code is taken."""
    if _site_or_none(session, data.code) is not None:
        raise DuplicateCodeError("site", data.code)
    site = Site.model_validate(data)
    flush_unique(session, site, DuplicateCodeError("site", data.code))
    logger.info("created site %s", site.code)
    return site


def get_site_by_code(session: Session, *, code: str) -> Site:
    """The site with this code; NotFoundError otherwise."""
    site = _site_or_none(session, code)
    if site is None:
        raise NotFoundError("site", code)
    return site


def list_sites(session: Session, *, active_only: bool = False, kind: SiteKind | None = None) -> list[Site]:
    """Sites ordered by code, optionally only active ones or one kind."""
    stmt = select(Site)
    if active_only:
        stmt = stmt.where(col(Site.active).is_(True))
    if kind is not None:
        stmt = stmt.where(Site.kind == kind)
    return list(session.exec(stmt.order_by(col(Site.code))).all())


def update_site(session: Session, *, code: str, data: SiteUpdate) -> Site:
    """Apply the fields set in `data` to the site with this code."""
    site = get_site_by_code(session, code=code)
    site.sqlmodel_update(data.model_dump(exclude_unset=True))
    session.add(site)
    session.flush()
    return site


def set_site_active(session: Session, *, code: str, active: bool) -> Site:
    """Open or close a site for future draws (S5 picks only active sites)."""
    return update_site(session, code=code, data=SiteUpdate(active=active))


def sites_within_km(
    session: Session, *, lat: float, lon: float, max_km: float, active_only: bool = True
) -> list[tuple[Site, float]]:
    """Sites within `max_km` great-circle km of a point, nearest first (ties by code)."""
    sites = list_sites(session, active_only=active_only)
    if not sites:
        return []
    dists = haversine_km(lat, lon, [s.lat for s in sites], [s.lon for s in sites])
    found = [(s, float(d)) for s, d in zip(sites, dists, strict=True) if d <= max_km]
    return sorted(found, key=lambda pair: (pair[1], pair[0].code))


def add_room(session: Session, *, site_code: str, data: RoomCreate) -> Room:
    """Add a room to a site; DuplicateCodeError when the room code is taken anywhere."""
    site = get_site_by_code(session, code=site_code)
    if _room_or_none(session, data.code) is not None:
        raise DuplicateCodeError("room", data.code)
    room = Room.model_validate(data, update={"site_id": site.id})
    flush_unique(session, room, DuplicateCodeError("room", data.code))
    logger.info("added room %s to site %s", room.code, site.code)
    return room


def get_room_by_code(session: Session, *, code: str) -> Room:
    """The room with this code; NotFoundError otherwise."""
    room = _room_or_none(session, code)
    if room is None:
        raise NotFoundError("room", code)
    return room


def list_rooms(session: Session, *, site_code: str | None = None) -> list[Room]:
    """Rooms ordered by code, optionally of one site."""
    stmt = select(Room)
    if site_code is not None:
        site = get_site_by_code(session, code=site_code)
        stmt = stmt.where(Room.site_id == site.id)
    return list(session.exec(stmt.order_by(col(Room.code))).all())


def update_room(session: Session, *, code: str, data: RoomUpdate) -> Room:
    """Apply the fields set in `data` to the room with this code."""
    room = get_room_by_code(session, code=code)
    room.sqlmodel_update(data.model_dump(exclude_unset=True))
    session.add(room)
    session.flush()
    return room


def book_room(session: Session, *, room_code: str, data: RoomBookingCreate) -> RoomBooking:
    """Reserve seats of a room for a time window (seen by the draw as taken, rule S4)."""
    room = get_room_by_code(session, code=room_code)
    if data.seats > room.seats:
        error = InvalidVenueDataError(f"room {room.code} has {room.seats} seats, {data.seats} requested")
        error.explain("venues.too_many_seats", room=room.code, seats=room.seats, requested=data.seats)
        raise error
    booking = RoomBooking.model_validate(data, update={"room_id": room.id})
    session.add(booking)
    session.flush()
    return booking


def list_room_bookings(
    session: Session, *, room_code: str, start: datetime | None = None, end: datetime | None = None
) -> list[RoomBooking]:
    """Bookings of a room, optionally only those overlapping [start, end), by start time."""
    room = get_room_by_code(session, code=room_code)
    stmt = select(RoomBooking).where(RoomBooking.room_id == room.id)
    if end is not None:
        stmt = stmt.where(col(RoomBooking.start) < end)
    if start is not None:
        stmt = stmt.where(col(RoomBooking.end) > start)
    return list(session.exec(stmt.order_by(col(RoomBooking.start), col(RoomBooking.id))).all())
