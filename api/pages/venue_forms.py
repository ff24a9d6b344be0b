"""Create and edit sites and rooms from the console (seats, opening hours, active), as /api/sites and /api/rooms."""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, select

import ledger
from access.deps import SessionDep
from access.service import Principal
from api.pages.common import COORDINATORS, error_page, explain, hide, member, refuse, render
from api.pages.forms import validation_field, write_target, writer
from venues import service as venue_service
from venues.exceptions import VenueError
from venues.models import SITE_KINDS, Room, RoomCreate, RoomUpdate, Site, SiteCreate, SiteUpdate

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=300)]


def _log(session: Session, who: Principal, kind: str, subject: str, payload: dict[str, Any]) -> None:
    # The same ledger kinds as the API's venue routes.
    ledger.append(session, kind=f"venue.{kind}", subject=subject, actor=who.actor, payload=payload)


def _form(request: Request, session: Session, who: Principal, *, site: Site | None, room: Room | None = None,
          values: dict[str, Any] | None = None, error: str | None = None, status_code: int = 200) -> Response:
    rooms = venue_service.list_rooms(session, site_code=site.code) if site is not None else []
    return render(request, "venue_form.html", {"site": site, "room": room, "rooms": rooms, "kinds": SITE_KINDS,
                                               "v": values or {}, "error": error}, who=who, status_code=status_code)


def _site_for_write(request: Request, session: Session, who: Principal, code: str) -> Site | Response:
    site = session.exec(select(Site).where(Site.code == code)).first()
    if site is None:
        return error_page(request, who, 404, "error.404")
    if not who.sees_site(site.id):
        return hide(request, session, who, f"site:{code}")
    return site


def _site_writer(request: Request, session: Session, code: str, csrf: str | None, *,
                 form: bool = True) -> tuple[Principal, Site] | Response:
    """A coordinator's (or admin's) user and site `code` in scope, or the page to answer instead.

    `form` (a POST) checks the CSRF token too; the edit form's GET does not.
    """
    return write_target(request, session, csrf, COORDINATORS,
                        lambda who: _site_for_write(request, session, who, code), form=form)


def _hours(text: str) -> str | None:
    return text.strip() or None


@router.get("/sites/new")
def new_site(request: Request, session: SessionDep) -> Response:
    """The form of a new site (admins and centre-wide coordinators, as the API)."""
    who = member(request, session, COORDINATORS, centre_wide="site create")
    if isinstance(who, Response):
        return who
    return _form(request, session, who, site=None, values={"active": True, "kind": "centre"})


@router.post("/sites/new")
def create_site(request: Request, session: SessionDep, csrf_token: Annotated[str | None, Form()] = None,
                code: Text = "", name: Text = "", region: Text = "", lat: Text = "", lon: Text = "",
                kind: Text = "centre", active: Text = "") -> Response:
    """Create the site; bad input re-shows the form naming the field (422)."""
    who = writer(request, session, csrf_token, COORDINATORS)
    if isinstance(who, Response):
        return who
    if not who.all_sites:
        return refuse(request, session, who, "site create")
    values = {"code": code.strip(), "name": name.strip(), "region": region.strip(), "lat": lat, "lon": lon,
              "kind": kind, "active": bool(active)}
    try:
        site = venue_service.create_site(session, data=SiteCreate.model_validate(values))
    except ValidationError as exc:
        session.rollback()
        return _form(request, session, who, site=None, values=values, error=validation_field(exc), status_code=422)
    except VenueError as exc:
        session.rollback()
        return _form(request, session, who, site=None, values=values, error=explain(request, exc, "code"),
                     status_code=409)
    _log(session, who, "site.create", f"site:{site.code}", SiteCreate.model_validate(values).model_dump(mode="json"))
    session.commit()
    return RedirectResponse(f"/sites/{quote(site.code, safe='')}/edit", status_code=303)


@router.get("/sites/{code}/edit")
def edit_site(code: str, request: Request, session: SessionDep) -> Response:
    """The site's form, its rooms and the form to add one."""
    guard = _site_writer(request, session, code, None, form=False)
    if isinstance(guard, Response):
        return guard
    who, site = guard
    return _form(request, session, who, site=site, values=site.model_dump())


@router.post("/sites/{code}/edit")
def update_site(code: str, request: Request, session: SessionDep, csrf_token: Annotated[str | None, Form()] = None,
                name: Text = "", region: Text = "", lat: Text = "", lon: Text = "", kind: Text = "centre",
                active: Text = "") -> Response:
    """Change the site (name, place, kind, whether draws may pick it)."""
    guard = _site_writer(request, session, code, csrf_token)
    if isinstance(guard, Response):
        return guard
    who, site = guard
    values = {"name": name.strip(), "region": region.strip(), "lat": lat, "lon": lon, "kind": kind,
              "active": bool(active)}
    try:
        data = SiteUpdate.model_validate(values)
        venue_service.update_site(session, code=code, data=data)
    except ValidationError as exc:
        session.rollback()
        return _form(request, session, who, site=site, values=values, error=validation_field(exc), status_code=422)
    _log(session, who, "site.update", f"site:{code}", data.model_dump(mode="json", exclude_unset=True))
    session.commit()
    return RedirectResponse(f"/sites/{quote(code, safe='')}/edit", status_code=303)


@router.post("/sites/{code}/rooms")
def add_room(code: str, request: Request, session: SessionDep, csrf_token: Annotated[str | None, Form()] = None,
             room_code: Text = "", seats: Text = "", opens_at: Text = "", closes_at: Text = "") -> Response:
    """Add a room with its seats and daily opening hours (both empty: always open)."""
    guard = _site_writer(request, session, code, csrf_token)
    if isinstance(guard, Response):
        return guard
    who, site = guard
    values = {"code": room_code.strip(), "seats": seats, "opens_at": _hours(opens_at), "closes_at": _hours(closes_at)}
    try:
        room = venue_service.add_room(session, site_code=code, data=RoomCreate.model_validate(values))
    except ValidationError as exc:
        session.rollback()
        return _form(request, session, who, site=site, values=site.model_dump(), error=validation_field(exc),
                     status_code=422)
    except VenueError as exc:
        session.rollback()
        return _form(request, session, who, site=site, values=site.model_dump(),
                     error=explain(request, exc, "room_code"), status_code=409)
    _log(session, who, "room.create", f"room:{room.code}", {"site": code, "seats": room.seats,
                                                            "opens_at": values["opens_at"],
                                                            "closes_at": values["closes_at"]})
    session.commit()
    return RedirectResponse(f"/sites/{quote(code, safe='')}/edit", status_code=303)


@router.post("/rooms/{code}/edit")
def update_room(code: str, request: Request, session: SessionDep, csrf_token: Annotated[str | None, Form()] = None,
                seats: Text = "", opens_at: Text = "", closes_at: Text = "") -> Response:
    """Change a room's seats and opening hours."""
    who = writer(request, session, csrf_token, COORDINATORS)
    if isinstance(who, Response):
        return who
    room = session.exec(select(Room).where(Room.code == code)).first()
    if room is None:
        return error_page(request, who, 404, "error.404")
    owner = session.get(Site, room.site_id)
    assert owner is not None
    site = _site_for_write(request, session, who, owner.code)
    if isinstance(site, Response):
        return site
    values = {"seats": seats, "opens_at": _hours(opens_at), "closes_at": _hours(closes_at)}
    try:
        data = RoomUpdate.model_validate(values)
        venue_service.update_room(session, code=code, data=data)
    except ValidationError as exc:
        session.rollback()
        return _form(request, session, who, site=site, values=site.model_dump(), error=validation_field(exc),
                     status_code=422)
    _log(session, who, "room.update", f"room:{code}", data.model_dump(mode="json", exclude_unset=True))
    session.commit()
    return RedirectResponse(f"/sites/{quote(site.code, safe='')}/edit", status_code=303)
