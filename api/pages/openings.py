"""Public live bid openings: the room's openings page for staff, and the anonymous watch page.

- `/rooms/{code}/openings` (staff whose scope covers the room's site): the room's purpose (an admin
  changes it), its public openings with their links, status and view counts (views, peak, watching
  now from `GET /api/rooms/{code}/stream`), a form to make a new one and a button to revoke one
  (coordinators). An evaluation room shows why it cannot be public.
- `/watch/{token}` (anyone, no login): the opening's title and window and, while it is on, the
  room live (`static/watch.js`, WHEP on `/api/watch/{token}/whep`); nothing else of the room.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, select

from access.deps import IdPath, SessionDep
from access.service import Principal
from api.pages.common import COORDINATORS, console_user, error_page, explain, hide, render, script_messages
from api.pages.forms import FormError, local_datetime, validation_field, write_target
from config import clock
from openings import service
from openings.exceptions import OpeningError
from openings.models import PublicOpeningCreate
from venues.models import ROOM_PURPOSES, Room, Site

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=500)]
ADMINS = frozenset({"admin"})
WATCH_SCRIPT_KEYS: tuple[str, ...] = (
    "watch.state.connecting", "watch.state.live", "watch.state.waiting", "watch.state.over", "watch.state.full",
    "watch.state.error", "wall.unmute", "wall.mute",
)


def _room(request: Request, session: Session, who: Principal, code: str) -> Room | Response:
    room = session.exec(select(Room).where(Room.code == code)).first() if len(code) <= 64 else None
    if room is None:
        return error_page(request, who, 404, "error.404")
    if not who.sees_site(room.site_id):
        return hide(request, session, who, f"room:{code}")
    return room


def _page(request: Request, session: Session, who: Principal, room: Room, *, error: str | None = None,
          values: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    now = clock.now()
    return render(request, "openings.html", {
        "room": room, "site": session.get(Site, room.site_id), "purposes": ROOM_PURPOSES,
        "openings": [service.public(session, o, now=now) for o in service.list_openings(session, room=room)],
        "may_write": who.role in COORDINATORS, "may_purpose": who.role in ADMINS, "error": error, "v": values or {},
        "base_url": str(request.base_url).rstrip("/"),
    }, who=who, status_code=status_code)


@router.get("/rooms/{code}/openings")
def openings_page(request: Request, session: SessionDep, code: str) -> Response:
    """The room's public openings, their links and view counts."""
    who = console_user(request, session)
    if isinstance(who, Response):
        return who
    room = _room(request, session, who, code)
    return room if isinstance(room, Response) else _page(request, session, who, room)


def _writer(request: Request, session: Session, code: str, csrf: str | None,
            roles: frozenset[str] = COORDINATORS) -> tuple[Principal, Room] | Response:
    return write_target(request, session, csrf, roles, lambda who: _room(request, session, who, code))


@router.post("/rooms/{code}/openings")
def create_opening(request: Request, session: SessionDep, code: str, csrf_token: Annotated[str | None, Form()] = None,
                   title: Text = "", start: Text = "", end: Text = "") -> Response:
    """Make the bid-opening room public for a window; bad input or a refusal is shown (422/409)."""
    guard = _writer(request, session, code, csrf_token)
    if isinstance(guard, Response):
        return guard
    who, room = guard
    values = {"title": title, "start": start, "end": end}
    try:
        data = PublicOpeningCreate.model_validate({"title": title.strip(), "start": local_datetime(start, "start"),
                                                   "end": local_datetime(end, "end")})
        service.create_opening(session, room_code=room.code, data=data, actor=who.actor, now=clock.now())
    except ValidationError as exc:
        session.rollback()
        return _page(request, session, who, room, error=validation_field(exc), values=values, status_code=422)
    except (FormError, OpeningError) as exc:  # a refusal is 409, bad input 422
        session.rollback()
        return _page(request, session, who, room, error=explain(request, exc, exc.field), values=values,
                     status_code=getattr(exc, "status", 422))
    session.commit()
    return RedirectResponse(f"/rooms/{room.code}/openings", status_code=303)


@router.post("/rooms/{code}/openings/{opening_id}/revoke")
def revoke_opening(request: Request, session: SessionDep, code: str, opening_id: IdPath,
                   csrf_token: Annotated[str | None, Form()] = None) -> Response:
    """Revoke an opening's link (its viewers are disconnected within seconds)."""
    guard = _writer(request, session, code, csrf_token)
    if isinstance(guard, Response):
        return guard
    who, room = guard
    opening = service.get_opening(session, opening_id=opening_id)
    if opening is None or opening.room_id != room.id:
        return error_page(request, who, 404, "error.404")
    service.revoke_opening(session, opening=opening, actor=who.actor, now=clock.now())
    session.commit()
    return RedirectResponse(f"/rooms/{room.code}/openings", status_code=303)


@router.post("/rooms/{code}/purpose")
def set_purpose(request: Request, session: SessionDep, code: str, csrf_token: Annotated[str | None, Form()] = None,
                purpose: Text = "") -> Response:
    """An admin makes the room an evaluation room or a bid-opening room; a refusal is shown (409)."""
    guard = _writer(request, session, code, csrf_token, ADMINS)
    if isinstance(guard, Response):
        return guard
    who, room = guard
    if purpose not in ROOM_PURPOSES:
        return _page(request, session, who, room, error="purpose", status_code=422)
    try:
        service.set_room_purpose(session, room_code=room.code, purpose=purpose,  # type: ignore[arg-type]
                                 actor=who.actor, now=clock.now())
    except OpeningError as exc:
        session.rollback()
        return _page(request, session, who, room, error=explain(request, exc, exc.field), status_code=409)
    session.commit()
    return RedirectResponse(f"/rooms/{room.code}/openings", status_code=303)


@router.get("/watch/{token}")
def watch_page(request: Request, session: SessionDep, token: str) -> Response:
    """The public watch page of an opening (no login): its title, window and, while on, the room live."""
    opening = service.by_token(session, token=token)
    if opening is None:
        return error_page(request, None, 404, "watch.not_found")
    now = clock.now()
    return render(request, "watch.html", {
        "opening": service.facts(opening, now=now), "token": token,
        "messages": script_messages(request, WATCH_SCRIPT_KEYS),
    })
