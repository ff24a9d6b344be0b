"""Answers to the confirm/decline links: confirm, or decline and trigger the replacement (R1/R2).

An answer is keyed by the opaque RSVP reference only; the expert code is unsealed server-side to
find the seat and to call `evaluation.service.replace`. Every answer is ledgered (`notify.confirmed`,
`notify.declined`) with the reference only. Repeating an answer changes nothing and says so; after
a decline the link cannot confirm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

import ledger
from config.sealing import unseal_text
from evaluation import replacements
from evaluation.invitations import SeatHolder, aware, notify_seat, seat_facts, seat_holders
from evaluation.models import Project
from notify.compose import SeatFacts
from notify.exceptions import BadLink, LinkNoLongerValid
from notify.models import Rsvp, rsvp_aad
from scheduler.exceptions import ReplacementError
from venues.models import Site

logger = logging.getLogger(__name__)
ACTOR = "expert-link"


@dataclass(frozen=True)
class RsvpState:
    """What the RSVP page shows: the answer so far, the seat's facts, whether an answer is possible."""

    status: str
    facts: SeatFacts | None
    can_answer: bool


@dataclass(frozen=True)
class Outcome:
    """The result of an answer: the new status, whether anything changed, and a message key."""

    status: str
    changed: bool
    note: str  # confirmed | already_confirmed | declined | declined_unreplaced | already_declined | declined_cannot


def _row(session: Session, ref: str) -> Rsvp:
    row = session.exec(select(Rsvp).where(Rsvp.ref == ref)).first()
    if row is None:
        raise BadLink("this link is not valid")
    return row


def _holder(session: Session, row: Rsvp) -> tuple[Project, str, SeatHolder | None]:
    project = session.get(Project, row.project_id)
    assert project is not None
    expert_code = unseal_text(row.expert_sealed, aad=rsvp_aad(row.ref))
    mine = [h for h in seat_holders(session, draw_id=row.draw_id, project_ids=[row.project_id])
            if h.expert_code == expert_code]
    return project, expert_code, (mine[0] if mine else None)


def state(session: Session, *, ref: str, now: datetime) -> RsvpState:
    """The page's view of an RSVP reference; BadLink when unknown."""
    row = _row(session, ref)
    project, _, holder = _holder(session, row)
    facts = seat_facts(start=project.start, site=holder.site, room_code=holder.room_code) if holder else None
    open_ = holder is not None and row.status != "declined" and now < aware(project.start)
    return RsvpState(status=row.status, facts=facts, can_answer=open_)


def _record(session: Session, row: Rsvp, status: str, now: datetime, **extra: object) -> None:
    row.status, row.answered_at = status, now
    session.add(row)
    ledger.append(session, kind=f"notify.{status}", subject=f"rsvp:{row.ref}", actor=ACTOR, ts=now,
                  payload={"ref": row.ref, **extra})
    session.flush()


def answer(session: Session, *, ref: str, action: str, now: datetime) -> Outcome:
    """Confirm or decline a seat; a decline replaces the expert and invites the replacement (commits)."""
    row = _row(session, ref)
    if row.status == "declined":
        return Outcome("declined", False, "already_declined" if action == "decline" else "declined_cannot")
    if action == "confirm" and row.status == "confirmed":
        return Outcome("confirmed", False, "already_confirmed")
    project, expert_code, holder = _holder(session, row)
    if now >= aware(project.start):
        raise LinkNoLongerValid("the evaluation has started; please contact the coordinator")
    if holder is None:
        raise LinkNoLongerValid("this seat is no longer yours; please contact the coordinator")
    if action == "confirm":
        _record(session, row, "confirmed", now)
        return Outcome("confirmed", True, "confirmed")
    ref, draw_id = row.ref, row.draw_id
    _record(session, row, "declined", now)
    try:
        # replace() commits: the decline and the replacement land together, or neither does.
        record = replacements.replace(session, draw_id=draw_id, project_code=project.code, expert_code=expert_code,
                               reason="declined", now=now, actor=ACTOR)
    except ReplacementError:
        session.rollback()
        # The decline still stands; the coordinator finds the seat among the declined counts.
        _record(session, _row(session, ref), "declined", now, replaced=False)
        logger.warning("draw %s: a declined seat could not be refilled automatically", draw_id)
        return Outcome("declined", True, "declined_unreplaced")
    project = session.get(Project, row.project_id) or project
    site = session.exec(select(Site).where(Site.code == record["site"])).one()
    new = SeatHolder(draw_id=draw_id, project=project, site=site, room_code=record["room"],
                     expert_code=record["replacement"])
    notify_seat(session, holder=new, kind="replacement", now=now)
    return Outcome("declined", True, "declined")
