"""HTTP routes of sites, rooms (seats, opening hours) and closures (/api/sites, /api/rooms, /api/closures).

Any staff member reads; creating a site needs an admin or a centre-wide coordinator; changing a
site, its rooms or closures needs a coordinator whose scope covers the site (else a ledgered 404).
Every change is written to the audit ledger (`venue.*`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from sqlmodel import Session, select

import ledger
from access.deps import Coordinator, IdPath, SessionDep, Staff, deny_out_of_scope
from access.service import Principal
from config.types import IsoDatetime
from venues import closures, service
from venues.models import (
    ClosureCreate,
    ClosurePublic,
    Room,
    RoomCreate,
    RoomPublic,
    RoomUpdate,
    Site,
    SiteCreate,
    SiteKind,
    SitePublic,
    SiteUpdate,
)

router = APIRouter(prefix="/api", tags=["venues"])


def _not_found(field: str, message: str) -> HTTPException:
    return HTTPException(status_code=404, detail=[{"loc": [field], "msg": message}])


def _log(session: Session, who: Principal, kind: str, subject: str, payload: dict[str, Any]) -> None:
    ledger.append(session, kind=f"venue.{kind}", subject=subject, actor=who.actor, payload=payload)


def _hours(room: Room) -> dict[str, str | None]:
    return {"opens_at": room.opens_at.isoformat() if room.opens_at is not None else None,
            "closes_at": room.closes_at.isoformat() if room.closes_at is not None else None}


def _site(session: Session, code: str) -> Site:
    found = session.exec(select(Site).where(Site.code == code)).first()
    if found is None:
        raise _not_found("site_code", f"no site with code {code!r}")
    return found


def _writable_site(request: Request, session: Session, who: Principal, code: str) -> Site:
    """The site when the caller may change it; else 404 (out of scope ledgered)."""
    site = _site(session, code)
    if not who.sees_site(site.id):
        deny_out_of_scope(session, request, who, f"site:{code}")
        session.commit()
        raise _not_found("site_code", f"no site with code {code!r}")
    return site


def _room(session: Session, code: str) -> Room:
    found = session.exec(select(Room).where(Room.code == code)).first()
    if found is None:
        raise _not_found("room_code", f"no room with code {code!r}")
    return found


# --- Sites ------------------------------------------------------------------------------------


@router.get("/sites", response_model=list[SitePublic])
def list_sites(session: SessionDep, _: Staff, kind: SiteKind | None = None,
               active_only: bool = False) -> list[Site]:
    """Sites by code, optionally of one kind or only active ones."""
    return service.list_sites(session, kind=kind, active_only=active_only)


@router.post("/sites", response_model=SitePublic, status_code=201)
def create_site(body: SiteCreate, request: Request, session: SessionDep, who: Coordinator) -> Site:
    """Create a site (admins and centre-wide coordinators)."""
    if not who.all_sites:
        deny_out_of_scope(session, request, who, f"site:{body.code} create")
        session.commit()
        raise HTTPException(status_code=403, detail=[{"loc": ["authorization"],
                                                      "msg": "only a centre-wide coordinator may create sites"}])
    site = service.create_site(session, data=body)
    _log(session, who, "site.create", f"site:{site.code}", body.model_dump(mode="json"))
    session.commit()
    return site


@router.get("/sites/{code}", response_model=SitePublic)
def read_site(code: str, session: SessionDep, _: Staff) -> Site:
    """One site."""
    return _site(session, code)


@router.patch("/sites/{code}", response_model=SitePublic)
def update_site(code: str, body: SiteUpdate, request: Request, session: SessionDep, who: Coordinator) -> Site:
    """Change a site (its name, place, kind, or whether draws may pick it)."""
    _writable_site(request, session, who, code)
    site = service.update_site(session, code=code, data=body)
    _log(session, who, "site.update", f"site:{code}", body.model_dump(mode="json", exclude_unset=True))
    session.commit()
    return site


# --- Rooms ------------------------------------------------------------------------------------


@router.get("/sites/{code}/rooms", response_model=list[RoomPublic])
def list_site_rooms(code: str, session: SessionDep, _: Staff) -> list[Room]:
    """The rooms of a site, by code."""
    _site(session, code)
    return service.list_rooms(session, site_code=code)


@router.post("/sites/{code}/rooms", response_model=RoomPublic, status_code=201)
def add_room(code: str, body: RoomCreate, request: Request, session: SessionDep, who: Coordinator) -> Room:
    """Add a room with its seats and daily opening hours to a site."""
    _writable_site(request, session, who, code)
    room = service.add_room(session, site_code=code, data=body)
    _log(session, who, "room.create", f"room:{room.code}", {"site": code, "seats": room.seats, **_hours(room)})
    session.commit()
    return room


@router.get("/rooms/{code}", response_model=RoomPublic)
def read_room(code: str, session: SessionDep, _: Staff) -> Room:
    """One room."""
    return _room(session, code)


@router.patch("/rooms/{code}", response_model=RoomPublic)
def update_room(code: str, body: RoomUpdate, request: Request, session: SessionDep, who: Coordinator) -> Room:
    """Change a room's seats or opening hours."""
    room = _room(session, code)
    site = session.get(Site, room.site_id)
    assert site is not None
    _writable_site(request, session, who, site.code)
    room = service.update_room(session, code=code, data=body)
    _log(session, who, "room.update", f"room:{code}", body.model_dump(mode="json", exclude_unset=True))
    session.commit()
    return room


# --- Closures ---------------------------------------------------------------------------------


@router.get("/closures", response_model=list[ClosurePublic])
def list_closures(session: SessionDep, _: Staff, site_code: str | None = None,
                  start: Annotated[IsoDatetime | None, Query(alias="from")] = None,
                  end: Annotated[IsoDatetime | None, Query(alias="to")] = None,
                  ) -> list[ClosurePublic]:
    """Closures by start, optionally of one site and overlapping [from, to)."""
    site_ids = None if site_code is None else [_site(session, site_code).id or 0]
    rows = closures.list_closures(session, site_ids=site_ids, start=start, end=end)
    return [closures.public(session, c) for c in rows]


@router.post("/closures", response_model=ClosurePublic, status_code=201)
def create_closure(body: ClosureCreate, request: Request, session: SessionDep, who: Coordinator) -> ClosurePublic:
    """Close a site, or one of its rooms, for a period (e.g. an epidemic closure)."""
    _writable_site(request, session, who, body.site_code)
    closure = closures.create_closure(session, data=body, actor=who.actor)
    session.commit()
    return closures.public(session, closure)


@router.delete("/closures/{closure_id}", status_code=204)
def delete_closure(closure_id: IdPath, request: Request, session: SessionDep, who: Coordinator) -> Response:
    """Reopen: remove a closure."""
    closure = closures.get_closure(session, closure_id=closure_id)
    if closure is None:
        raise _not_found("closure_id", f"no closure {closure_id}")
    seen = closures.public(session, closure)
    _writable_site(request, session, who, seen.site_code)
    closures.delete_closure(session, closure=closure, actor=who.actor)
    session.commit()
    return Response(status_code=204)
