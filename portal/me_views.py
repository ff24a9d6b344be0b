"""HTTP routes of an expert's own seats: list them, confirm or decline one (role expert only).

Another expert's reference answers 404 like an unknown one (ledgered), so a reference's existence
does not leak; a cookie-authenticated answer needs the X-CSRF-Token header (access.deps).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from pydantic import BaseModel

from access.deps import SessionDep, deny_out_of_scope, require
from access.service import Principal
from config import clock
from config.settings import get_settings
from portal import engagements as portal
from portal.engagements import EngagementStatus

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/me", tags=["expert"])
ExpertUser = Annotated[Principal, Depends(require("expert"))]
RefPath = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The seat's opaque reference")]
_NO_STORE = {"Cache-Control": "no-store"}


class EngagementOut(BaseModel):
    """One of the caller's seats: what the notification says, the answer so far, what is still possible."""

    ref: str
    start: datetime
    when: str
    utc_offset: str
    site_name: str | None
    city_zh: str | None
    city_en: str | None
    address: str | None
    room: str | None
    status: EngagementStatus
    can_confirm: bool
    can_decline: bool


class Engagements(BaseModel):
    """The caller's seats of evaluations starting `window_days` ago or later."""

    window_days: int
    engagements: list[EngagementOut]


class AnswerOut(BaseModel):
    """The outcome of an answer: the new status, whether it changed anything, and a message key."""

    ref: str
    status: str
    changed: bool
    note: str


def _out(e: portal.Engagement) -> EngagementOut:
    f = e.facts
    return EngagementOut(ref=e.ref, start=e.start, when=e.when, utc_offset=e.offset,
                         site_name=f.site_name if f else None, city_zh=f.city_zh if f else None,
                         city_en=f.city_en if f else None, address=f.address if f else None,
                         room=f.room if f else None, status=e.status,  # type: ignore[arg-type]
                         can_confirm=e.can_confirm, can_decline=e.can_decline)


@router.get("/engagements", response_model=Engagements)
def my_engagements(session: SessionDep, who: ExpertUser, response: Response) -> Engagements:
    """The caller's seats (upcoming and recent) with time, site and room: never the project or its parties."""
    response.headers.update(_NO_STORE)
    code = portal.expert_code_of(session, expert_id=who.expert_id)
    if code is None:
        logger.warning("expert account id %s is bound to no expert", who.user_id)
    items = [] if code is None else portal.engagements(session, expert_code=code, now=clock.now())
    return Engagements(window_days=get_settings().expert_portal_window_days, engagements=[_out(e) for e in items])


def _answer(request: Request, session: SessionDep, who: Principal, ref: str, action: str) -> AnswerOut:
    code = portal.expert_code_of(session, expert_id=who.expert_id)
    try:
        if code is None:
            raise portal.NotYourSeat(ref)
        outcome = portal.answer(session, expert_code=code, ref=ref, action=action, now=clock.now())
    except portal.NotYourSeat:
        deny_out_of_scope(session, request, who, "rsvp")
        raise HTTPException(status_code=404, detail=[{"loc": ["ref"], "msg": "engagement not found"}]) from None
    except portal.SeatClosed as exc:
        session.rollback()
        raise HTTPException(status_code=409, detail=[{"loc": ["ref"], "msg": str(exc)}]) from None
    session.commit()
    if outcome.note == "declined_cannot":
        raise HTTPException(status_code=409, detail=[{"loc": ["ref"], "msg": "declined already: it cannot be "
                                                      "confirmed any more; please contact the coordinator"}])
    logger.info("expert answer through the expert page: %s", outcome.note)
    return AnswerOut(ref=ref, status=outcome.status, changed=outcome.changed, note=outcome.note)


@router.post("/engagements/{ref}/confirm", response_model=AnswerOut)
def confirm(ref: RefPath, request: Request, session: SessionDep, who: ExpertUser) -> AnswerOut:
    """Confirm attendance at one of the caller's seats (repeating it changes nothing)."""
    return _answer(request, session, who, ref, "confirm")


@router.post("/engagements/{ref}/decline", response_model=AnswerOut)
def decline(ref: RefPath, request: Request, session: SessionDep, who: ExpertUser) -> AnswerOut:
    """Decline one of the caller's seats: the seat is refilled (R1/R2) and the replacement invited, as by the link."""
    return _answer(request, session, who, ref, "decline")
