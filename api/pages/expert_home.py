"""The expert's own page `/me`: their seats with time, site and room, and confirm/decline forms.

An expert sees exactly what their notification says (`portal.engagements`), never the project or its
parties; an answer goes through the same path as the signed link's, so a decline is refilled.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from access.deps import SessionDep, optional_principal
from access.service import Principal
from api.pages.common import bad_csrf, error_page, hide, login_redirect, refuse, render
from config import clock
from config.settings import get_settings
from portal import engagements as portal

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
REF = re.compile(r"^[0-9a-f]{64}$")
ACTIONS = ("confirm", "decline")
FLASH = "me_flash"


def expert_user(request: Request, session: Session) -> Principal | Response:
    """The logged-in expert, or the response to send instead (login redirect or the ledgered 403 page)."""
    who = optional_principal(request, session)
    if who is None:
        return login_redirect(request)
    if who.role != "expert":
        return refuse(request, session, who, f"role {who.role}")
    return who


@router.get("/me")
def expert_home(request: Request, session: SessionDep) -> Response:
    """The expert's upcoming and recent seats, with confirm/decline forms while an answer is possible."""
    who = expert_user(request, session)
    if isinstance(who, Response):
        return who
    now = clock.now()
    code = portal.expert_code_of(session, expert_id=who.expert_id)
    items = [] if code is None else portal.engagements(session, expert_code=code, now=now)
    response = render(request, "expert_home.html", {
        "bound": code is not None, "window_days": get_settings().expert_portal_window_days,
        "upcoming": [e for e in items if e.start > now],
        "past": sorted((e for e in items if e.start <= now), key=lambda e: e.start, reverse=True),
        "flash": request.session.pop(FLASH, None),
    }, who=who)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/me/{ref}")
def expert_answer(ref: str, request: Request, session: SessionDep,
                  action: Annotated[str | None, Form(max_length=16)] = None,
                  csrf_token: Annotated[str | None, Form()] = None) -> Response:
    """Confirm or decline one of the expert's seats, then back to `/me` with the outcome."""
    who = expert_user(request, session)
    if isinstance(who, Response):
        return who
    refused = bad_csrf(request, session, who, csrf_token)
    if refused is not None:
        return refused
    if action not in ACTIONS:
        return error_page(request, who, 422, "error.422", field="action (confirm | decline)")
    code = portal.expert_code_of(session, expert_id=who.expert_id)
    if code is None or not REF.match(ref):
        return hide(request, session, who, "rsvp")
    try:
        outcome = portal.answer(session, expert_code=code, ref=ref, action=action, now=clock.now())
    except portal.NotYourSeat:
        return hide(request, session, who, "rsvp")
    except portal.SeatClosed as exc:
        session.rollback()
        request.session[FLASH] = {"key": f"me.closed.{exc.reason}", "error": True}
        return RedirectResponse("/me", status_code=303)
    session.commit()
    request.session[FLASH] = {"key": f"me.note.{outcome.note}", "error": outcome.note == "declined_cannot"}
    return RedirectResponse("/me", status_code=303)
