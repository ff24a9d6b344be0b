"""The room's check-in kiosk (`/terminal`) and the supervisor's room check-in page (`/checkin/rooms/{code}`).

The kiosk runs in a browser at the room's terminal, logged in as that room's `terminal` user. The
expert types or swipes the ID number into the focused field: the real device is a USB ID-card
reader in keyboard-emulation mode (HID keyboard), which types the 18-character number read from the
card's chip followed by Enter, so no driver and no browser plug-in is needed and a keyboard works
the same when the reader fails. The page then asks the service for a challenge, films a short
head turn with getUserMedia and sends the frames (`static/terminal.js`); the service decides.
Face recognition is never the only way in: the room page lets a supervisor check an expert in by
hand with a stated reason.

Both pages render the service's current state server-side (`checkin.seats`), and their
scripts refresh it from the check-in API.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, select

from access.deps import SessionDep
from access.service import Principal
from api.pages.common import (
    bad_csrf,
    console_user,
    error_page,
    hide,
    local,
    member,
    render,
    script_messages,
    terminal_room,
)
from checkin.exceptions import CheckinRefused
from checkin.models import ManualCheckin
from checkin.seats import room_status, terminal_info
from checkin.service import manual_check_in
from config import clock
from config.settings import get_settings
from venues.models import Room, Site

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
MANUAL_ROLES = frozenset({"admin", "supervisor"})
# The messages the kiosk's script shows (it gets them in the page's language, no second fetch).
TERMINAL_SCRIPT_KEYS: tuple[str, ...] = (
    "terminal.look", "terminal.turn.left", "terminal.turn.right", "terminal.sending",
    "terminal.starting", "terminal.ok.checkin", "terminal.ok.already", "terminal.ok.signoff",
    "terminal.ok.signoff_already", "terminal.next", "terminal.id_required", "terminal.no_report",
    "terminal.camera.denied", "terminal.camera.absent", "terminal.network", "terminal.fail.generic",
    "terminal.fail.liveness", "terminal.confirm_required",
    "checkin.liveness.too_few_frames", "checkin.liveness.no_face", "checkin.liveness.many_faces",
    "checkin.liveness.repeated_frames", "checkin.liveness.not_frontal", "checkin.liveness.no_turn",
    "checkin.liveness.wrong_direction", "checkin.liveness.face_changed",
    "checkin.face.unreadable", "checkin.face.too_large", "checkin.face.no_face", "checkin.face.many_faces",
    "checkin.face.no_match", "checkin.challenge", "checkin.unknown", "checkin.no_seat", "checkin.locked",
    "signoff.report_changed", "signoff.no_report", "signoff.not_checked_in",
    "terminal.phase.upcoming", "terminal.phase.checkin", "terminal.phase.evaluating",
    "terminal.phase.ended", "terminal.projects.none", "terminal.counts",
)
ROOM_SCRIPT_KEYS: tuple[str, ...] = (
    "terminal.phase.upcoming", "terminal.phase.checkin", "terminal.phase.evaluating", "terminal.phase.ended",
    "room.sealed",
    "room.method.face", "room.method.manual", "room.manual.ok", "room.manual.already", "room.refreshed",
    "room.refresh_failed", "terminal.network", "checkin.no_seat", "checkin.unknown", "room.none",
    "room.start", "room.seats", "room.checked_in", "room.signed_off",
    "room.report", "room.expert", "room.at", "room.method", "room.by", "room.reason",
)


def clock_text(value: datetime | str | None, pattern: str = "%H:%M") -> str:
    """A time of the check-in service (datetime or ISO text) as local text."""
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return local(moment).strftime(pattern)


def hash_groups(digest: str | None) -> list[str]:
    """A hex digest in groups of four characters, so an expert can compare it by eye."""
    return [digest[i:i + 4] for i in range(0, len(digest), 4)] if digest else []


@router.get("/terminal")
def terminal(request: Request, session: SessionDep) -> Response:
    """The room's check-in kiosk: ID number, camera, head-turn challenge, outcome (role terminal)."""
    found = terminal_room(request, session)
    if isinstance(found, Response):
        return found
    who, room = found
    site = session.get(Site, room.site_id)
    info = terminal_info(session, room_id=room.id, now=clock.now())
    signable = [p for p in info["projects"] if p.get("phase") in ("evaluating", "ended") and p.get("report_sha256")]
    return render(request, "terminal.html", {
        "room": room, "site": site, "info": info, "signable": signable, "clock_text": clock_text,
        "hash_groups": hash_groups, "messages": script_messages(request, TERMINAL_SCRIPT_KEYS),
        "utc_offset": get_settings().display_utc_offset_hours,
    }, who=who)


def _room_for(request: Request, session: Session, who: Principal, room_code: str) -> Room | Response:
    """The room when it exists and its site is in the user's scope, else the (ledgered) 404 page."""
    room = session.exec(select(Room).where(Room.code == room_code)).first() if len(room_code) <= 64 else None
    if room is None or room.id is None:
        return error_page(request, who, 404, "error.404")
    if not who.sees_site(room.site_id):
        return hide(request, session, who, f"room:{room_code}")
    return room


def _room_page(request: Request, session: Session, who: Principal, room: Room, *,
               result: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    assert room.id is not None
    status: dict[str, Any] = room_status(session, room_id=room.id, now=clock.now())
    return render(request, "room_checkin.html", {
        "room": room, "site": session.get(Site, room.site_id), "status": status, "clock_text": clock_text,
        "hash_groups": hash_groups, "manual": who.role in MANUAL_ROLES, "result": result,
        "messages": script_messages(request, ROOM_SCRIPT_KEYS), "utc_offset": get_settings().display_utc_offset_hours,
    }, who=who, status_code=status_code)


@router.get("/checkin/rooms/{room_code}")
def room_checkin(request: Request, session: SessionDep, room_code: str) -> Response:
    """One room's check-ins today: counts always, names once unsealed; manual check-in for supervisors."""
    who = console_user(request, session)
    if isinstance(who, Response):
        return who
    room = _room_for(request, session, who, room_code)
    if isinstance(room, Response):
        return room
    flash = request.session.pop("checkin_flash", None)
    return _room_page(request, session, who, room, result=flash if isinstance(flash, dict) else None)


@router.post("/checkin/rooms/{room_code}/manual")
def manual_form(
    request: Request, session: SessionDep, room_code: str,
    id_number: Annotated[str, Form(max_length=40)] = "",
    expert_code: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf_token_field: Annotated[str | None, Form(alias="csrf_token")] = None,
) -> Response:
    """The manual check-in form without JavaScript (the page's script posts JSON to the API instead)."""
    who = member(request, session, MANUAL_ROLES)
    if isinstance(who, Response):
        return who
    refused = bad_csrf(request, session, who, csrf_token_field)
    if refused is not None:
        return refused
    room = _room_for(request, session, who, room_code)
    if isinstance(room, Response):
        return room
    try:
        data = ManualCheckin(room_code=room.code, id_number=id_number.strip() or None,
                             expert_code=expert_code.strip() or None, reason=reason.strip())
        done = manual_check_in(session, who=who, room=room, data=data, now=clock.now())
    except ValidationError as exc:
        session.rollback()
        field = str(exc.errors()[0]["loc"][0]) if exc.errors() else "reason"
        return _room_page(request, session, who, room, status_code=422,
                          result={"error": True, "text": f"{field}: {exc.errors()[0]['msg']}"})
    except CheckinRefused as exc:
        session.commit()  # a refused try is ledgered and counts towards the lockout, as through the API
        return _room_page(request, session, who, room, status_code=exc.status,
                          result={"error": True, "key": exc.kind, "text": str(exc)})
    session.commit()
    request.session["checkin_flash"] = {"error": False, "key": "room.manual.already" if done.already
                                        else "room.manual.ok", "expert_name": done.expert_name,
                                        "project_code": done.project_code}
    return RedirectResponse(f"/checkin/rooms/{quote(room.code, safe='')}#manual", status_code=303)
