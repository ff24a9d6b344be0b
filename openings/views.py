"""HTTP routes of public openings for staff: a room's purpose, its openings, revoking a link.

Setting a room's purpose needs an admin (it decides whether the room can ever be public); making or
revoking an opening needs a coordinator whose scope covers the room's site; any staff member in
scope reads them. Out of scope: the console's ledgered 404. The anonymous side (the watch link's
WHEP) is av_monitor/public_views.py.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from sqlmodel import Session, select

from access.deps import Admin, Coordinator, IdPath, SessionDep, Staff, deny_out_of_scope
from access.service import Principal
from config import clock
from openings import service
from openings.models import PublicOpeningCreate, PublicOpeningPublic, RoomPurposeUpdate
from venues.models import Room, RoomPublic

router = APIRouter(prefix="/api", tags=["openings"])


def _not_found(field: str, message: str) -> HTTPException:
    return HTTPException(status_code=404, detail=[{"loc": [field], "msg": message}])


def _room(request: Request, session: Session, who: Principal, code: str) -> Room:
    """The room when the caller's scope covers its site; else 404 (out of scope ledgered)."""
    room = session.exec(select(Room).where(Room.code == code)).first() if len(code) <= 64 else None
    if room is None:
        raise _not_found("code", f"no room with code {code!r}")
    if not who.sees_site(room.site_id):
        deny_out_of_scope(session, request, who, f"room:{code}")
        session.commit()
        raise _not_found("code", f"no room with code {code!r}")
    return room


@router.put("/rooms/{code}/purpose", response_model=RoomPublic)
def set_purpose(code: str, body: RoomPurposeUpdate, request: Request, session: SessionDep, who: Admin) -> Room:
    """Make the room an evaluation room (the draw seats committees there) or a bid-opening room (can be public)."""
    room = _room(request, session, who, code)
    room = service.set_room_purpose(session, room_code=room.code, purpose=body.purpose, actor=who.actor,
                                    now=clock.now())
    session.commit()
    return room


@router.get("/rooms/{code}/openings", response_model=list[PublicOpeningPublic])
def list_openings(code: str, request: Request, session: SessionDep, who: Staff) -> list[PublicOpeningPublic]:
    """The room's public openings, latest first, with their links and view counts."""
    room = _room(request, session, who, code)
    now = clock.now()
    return [service.public(session, o, now=now) for o in service.list_openings(session, room=room)]


@router.post("/rooms/{code}/openings", response_model=PublicOpeningPublic, status_code=201)
def create_opening(code: str, body: PublicOpeningCreate, request: Request, session: SessionDep,
                   who: Coordinator) -> PublicOpeningPublic:
    """Make the bid-opening room public for [start, end]: anyone with the returned link watches it live."""
    room = _room(request, session, who, code)
    now = clock.now()
    opening = service.create_opening(session, room_code=room.code, data=body, actor=who.actor, now=now)
    session.commit()
    return service.public(session, opening, now=now)


@router.delete("/openings/{opening_id}", response_model=PublicOpeningPublic)
def revoke_opening(opening_id: IdPath, request: Request, session: SessionDep,
                   who: Coordinator) -> PublicOpeningPublic:
    """Revoke the opening's link: it stops working and its viewers are disconnected within seconds."""
    opening = service.get_opening(session, opening_id=opening_id)
    room = session.get(Room, opening.room_id) if opening is not None else None
    if opening is None or room is None:
        raise _not_found("opening_id", f"no opening {opening_id}")
    _room(request, session, who, room.code)
    now = clock.now()
    service.revoke_opening(session, opening=opening, actor=who.actor, now=now)
    session.commit()
    return service.public(session, opening, now=now)
