"""An expert's own seats for the expert page and API: the notification's facts, the answer, what is still possible.

Seats are sealed (rule D5), so an expert's seats are found by unsealing the seats of the projects
starting within the window (`expert_portal_window_days` back from now, and everything ahead), never
the whole table. An engagement carries exactly what the notification says (time, site, room) and
the answer so far, never the project's code, name, parties or the other committee members. Answers
go through `portal.rsvp.answer`, as the signed link's do: a decline triggers the same replacement and
the same ledger entries (actor "expert-link": the ledger must not tie a user account to a seat's
reference, and the reference to a project, before the start).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from sqlmodel import Session, col, select

from config.sealing import unseal_text
from config.settings import get_settings
from evaluation.invitations import SeatHolder, aware, ensure_rsvp, seat_facts, seat_holders
from evaluation.models import Project, Seat
from experts.models import Expert
from notify.compose import SeatFacts
from notify.exceptions import LinkNoLongerValid
from notify.links import rsvp_ref
from notify.models import Rsvp, rsvp_aad
from portal import rsvp

logger = logging.getLogger(__name__)
EngagementStatus = Literal["invited", "confirmed", "declined", "replaced", "cancelled"]
STATUSES: tuple[str, ...] = ("invited", "confirmed", "declined", "replaced", "cancelled")


class NotYourSeat(LookupError):
    """The reference names no seat of this expert (unknown, or another expert's: answered alike)."""


class SeatClosed(ValueError):
    """The seat can no longer be answered; `reason` is cancelled, started or gone (no longer the expert's)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Engagement:
    """One seat of the expert as the expert may see it: when, where, the answer, what is still possible."""

    ref: str
    start: datetime
    when: str
    offset: str
    # None once the seat is no longer the expert's: its room is then someone else's business.
    facts: SeatFacts | None
    status: str
    can_confirm: bool
    can_decline: bool


@dataclass(frozen=True)
class _Mine:
    projects: dict[int, Project]
    held: dict[str, SeatHolder]
    rows: dict[str, Rsvp]


def expert_code_of(session: Session, *, expert_id: int | None) -> str | None:
    """The code of the expert an account is bound to, or None."""
    if expert_id is None:
        return None
    return session.exec(select(Expert.code).where(Expert.id == expert_id)).first()


def local_text(value: datetime) -> tuple[str, str]:
    """A start time as the notification writes it: local text and the UTC offset."""
    hours = get_settings().display_utc_offset_hours
    local = aware(value).astimezone(timezone(timedelta(hours=hours)))
    return local.strftime("%Y-%m-%d %H:%M"), f"{hours:+d}"


def window_start(*, now: datetime) -> datetime:
    """The earliest project start the expert's page lists."""
    return now - timedelta(days=get_settings().expert_portal_window_days)


def _mine(session: Session, *, expert_code: str, now: datetime) -> _Mine:
    since = window_start(now=now)
    seated = select(Seat.project_id).distinct()
    projects = {p.id: p for p in session.exec(select(Project).where(
        col(Project.start) >= since, col(Project.id).in_(seated))).all() if p.id is not None}
    if not projects:
        return _Mine({}, {}, {})
    # Only the window's seats are unsealed: the cost grows with the window, not with the database.
    held = {rsvp_ref(h.draw_id, h.project.code, expert_code): h
            for h in seat_holders(session, project_ids=list(projects)) if h.expert_code == expert_code}
    # The expert's answers are found by their HMAC reference, without unsealing anything.
    pairs = session.exec(select(Rsvp.draw_id, Rsvp.project_id).where(
        col(Rsvp.project_id).in_(list(projects))).distinct()).all()
    wanted = {rsvp_ref(d, projects[p].code, expert_code) for d, p in pairs} | set(held)
    rows = {r.ref: r for r in session.exec(select(Rsvp).where(col(Rsvp.ref).in_(list(wanted)))).all()} \
        if wanted else {}
    return _Mine(projects, held, rows)


def _status(project: Project, row: Rsvp | None, held: bool) -> str:
    if project.status == "cancelled":
        return "cancelled"
    if row is not None and row.status == "declined":
        return "declined"
    if not held:
        return "replaced"
    return "confirmed" if row is not None and row.status == "confirmed" else "invited"


def _engagement(ref: str, project: Project, holder: SeatHolder | None, row: Rsvp | None,
                now: datetime) -> Engagement:
    status = _status(project, row, holder is not None)
    open_ = holder is not None and now < aware(project.start) and status in ("invited", "confirmed")
    facts = seat_facts(start=project.start, site=holder.site, room_code=holder.room_code) if holder else None
    when, offset = local_text(project.start)
    return Engagement(ref=ref, start=aware(project.start), when=when, offset=offset, facts=facts, status=status,
                      can_confirm=open_ and status == "invited", can_decline=open_)


def engagements(session: Session, *, expert_code: str, now: datetime) -> list[Engagement]:
    """The expert's seats of evaluations starting within the window, earliest first."""
    mine = _mine(session, expert_code=expert_code, now=now)
    out = [_engagement(ref, h.project, h, mine.rows.get(ref), now) for ref, h in mine.held.items()]
    # Seats the expert declined or lost still show, so the page explains why they are gone.
    out += [_engagement(ref, mine.projects[row.project_id], None, row, now)
            for ref, row in mine.rows.items() if ref not in mine.held]
    return sorted(out, key=lambda e: (e.start, e.ref))


def _own_row(session: Session, *, expert_code: str, ref: str, now: datetime) -> Rsvp:
    row = session.exec(select(Rsvp).where(Rsvp.ref == ref)).first()
    if row is not None:
        # One unseal decides ownership, whatever the window.
        if unseal_text(row.expert_sealed, aad=rsvp_aad(row.ref)) != expert_code:
            raise NotYourSeat(ref)
        return row
    # A seat not yet notified has no answer row: it must be one the expert holds now.
    holder = _mine(session, expert_code=expert_code, now=now).held.get(ref)
    if holder is None:
        raise NotYourSeat(ref)
    return ensure_rsvp(session, draw_id=holder.draw_id, project=holder.project, expert_code=expert_code)


def answer(session: Session, *, expert_code: str, ref: str, action: str, now: datetime) -> rsvp.Outcome:
    """Confirm or decline one of the expert's own seats, as the signed link does (a decline replaces; commits).

    NotYourSeat for another expert's or an unknown reference; SeatClosed when it can no longer be answered.
    """
    row = _own_row(session, expert_code=expert_code, ref=ref, now=now)
    project = session.get(Project, row.project_id)
    if project is None or project.status == "cancelled":
        raise SeatClosed("cancelled", "the evaluation has been cancelled")
    if now >= aware(project.start):
        raise SeatClosed("started", "the evaluation has started; please contact the coordinator")
    try:
        return rsvp.answer(session, ref=row.ref, action=action, now=now)
    except LinkNoLongerValid as exc:
        raise SeatClosed("gone", str(exc)) from None
