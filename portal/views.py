"""HTTP routes: the RSVP page behind signed links, and the coordinators' outbox API per draw."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from access.deps import Coordinator, IdPath, SessionDep
from config import clock
from evaluation import invitations
from evaluation.guards import draw_in_scope
from notify.compose import page
from notify.exceptions import BadLink, LinkNoLongerValid
from notify.links import read_token
from portal import rsvp

logger = logging.getLogger(__name__)
router = APIRouter(tags=["notify"])
api_router = APIRouter(prefix="/api/draws", tags=["notify"])
Lang = Literal["zh", "en"]
Action = Literal["confirm", "decline"]
# The page answers in the link's language; the notes read in both.
NOTES: dict[str, tuple[str, str]] = {
    "confirmed": ("感谢您确认参加。", "Thank you: your attendance is confirmed."),
    "already_confirmed": ("您已确认过，无需重复操作。", "You had already confirmed; nothing was changed."),
    "declined": ("已记录您无法参加，替补专家已被通知。",
                 "Your decline is recorded; a replacement expert has been invited."),
    "declined_unreplaced": ("已记录您无法参加，工作人员将安排替补。",
                            "Your decline is recorded; the coordinator will arrange a replacement."),
    "already_declined": ("您已谢绝过，本次未做任何更改。", "You had already declined; nothing was changed."),
    "declined_cannot": ("您已谢绝，此链接不能再确认参加。", "You have declined; this link can no longer confirm."),
}
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _note(key: str, lang: str) -> str:
    zh, en = NOTES[key]
    return en if lang == "en" else zh


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=_HEADERS)


def _error_page(lang: str, message: str, status: int) -> HTMLResponse:
    return _html(page(lang=lang, facts=None, status=None, message_text=message, error=True), status)


@router.get("/rsvp/{token}", response_class=HTMLResponse, include_in_schema=False)
def rsvp_page(token: str, session: SessionDep, lang: Lang = "zh", action: Action | None = None) -> HTMLResponse:
    """The confirm/decline page of a signed link (400 page when the link is forged, expired or malformed)."""
    try:
        st = rsvp.state(session, ref=read_token(token), now=clock.now())
    except BadLink as exc:
        return _error_page(lang, f"链接无效或已过期 / {exc}", 400)
    return _html(page(lang=lang, facts=st.facts, status=st.status, can_answer=st.can_answer, action=action))


@router.post("/rsvp/{token}", response_class=HTMLResponse, include_in_schema=False)
def rsvp_answer(token: str, action: Annotated[Action, Form()], session: SessionDep,
                lang: Lang = "zh") -> HTMLResponse:
    """Confirm or decline; a decline replaces the expert (R1/R2) and invites the replacement."""
    now = clock.now()
    try:
        outcome = rsvp.answer(session, ref=read_token(token), action=action, now=now)
    except BadLink as exc:
        session.rollback()
        return _error_page(lang, f"链接无效或已过期 / {exc}", 400)
    except LinkNoLongerValid as exc:
        session.rollback()
        return _error_page(lang, f"此链接已不能使用 / {exc}", 409)
    session.commit()
    st = rsvp.state(session, ref=read_token(token), now=now)
    status = 409 if outcome.note == "declined_cannot" else 200
    return _html(page(lang=lang, facts=st.facts, status=st.status, message_text=_note(outcome.note, lang),
                      error=status != 200, can_answer=False), status)


@api_router.post("/{draw_id}/notifications")
def enqueue_notifications(draw_id: IdPath, request: Request, session: SessionDep, who: Coordinator) -> dict[str, int]:
    """Enqueue the draw's messages now (projects in the caller's scope; idempotent); returns the count."""
    _, visible = draw_in_scope(request, session, who, draw_id, write=True)
    count = invitations.enqueue_draw_notifications(session, draw_id=draw_id, now=clock.now(), project_codes=visible)
    session.commit()
    return {"enqueued": count}


@api_router.get("/{draw_id}/notifications")
def notification_summary(draw_id: IdPath, request: Request, session: SessionDep, who: Coordinator) -> dict[str, Any]:
    """Counts by status and channel, and confirmed/declined/pending per project: never names or addresses."""
    _, visible = draw_in_scope(request, session, who, draw_id)
    return invitations.draw_summary(session, draw_id=draw_id, project_codes=visible)
