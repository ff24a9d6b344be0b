"""The expert pool's records around each expert: relations, penalties, leave, bookings, past committees.

Functions flush but never commit: the caller owns the transaction (config.db.session_scope).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime

from sqlmodel import Session, col, select

from config.db import flush_unique
from experts.exceptions import DuplicateCodeError, InvalidExpertDataError
from experts.lookup import code_taken, get_expert_by_code, get_org_by_code, row_id
from experts.models import (
    Booking,
    BookingCreate,
    Committee,
    CommitteeMember,
    Leave,
    Organisation,
    Penalty,
    Relation,
    RelationCreate,
)

logger = logging.getLogger(__name__)


# --- Relations, penalties, leave, bookings -----------------------------------------------------


def add_relation(session: Session, *, expert_code: str, data: RelationCreate) -> Relation:
    """Declare a relation between an expert and an organisation (E4)."""
    expert = get_expert_by_code(session, code=expert_code)
    org = get_org_by_code(session, code=data.org_code)
    rel = Relation.model_validate(data.model_dump(exclude={"org_code"}),
                                  update={"expert_id": expert.id, "org_id": org.id})
    session.add(rel)
    session.flush()
    return rel


def add_penalty(session: Session, *, expert_code: str, on: date, reason: str = "") -> Penalty:
    """Record a penalty for tendering misconduct (E1 excludes the expert)."""
    expert = get_expert_by_code(session, code=expert_code)
    pen = Penalty(expert_id=row_id(expert), date=on, reason=reason)
    session.add(pen)
    session.flush()
    return pen


def add_leave(session: Session, *, expert_code: str, from_date: date, to_date: date) -> Leave:
    """Record a leave period, both dates inclusive (E8)."""
    if to_date < from_date:
        raise InvalidExpertDataError("a leave cannot end before it starts")
    expert = get_expert_by_code(session, code=expert_code)
    leave = Leave(expert_id=row_id(expert), from_date=from_date, to_date=to_date)
    session.add(leave)
    session.flush()
    return leave


def relations_of(session: Session, *, expert_code: str) -> list[tuple[Relation, str]]:
    """The expert's relations with each organisation's code, by organisation code and kind."""
    expert = get_expert_by_code(session, code=expert_code)
    stmt = (select(Relation, Organisation.code).join(Organisation, col(Organisation.id) == Relation.org_id)
            .where(Relation.expert_id == expert.id).order_by(col(Organisation.code), col(Relation.kind)))
    return [(rel, code) for rel, code in session.exec(stmt).all()]


def penalties_of(session: Session, *, expert_code: str) -> list[Penalty]:
    """The expert's penalties by date."""
    expert = get_expert_by_code(session, code=expert_code)
    stmt = select(Penalty).where(Penalty.expert_id == expert.id).order_by(col(Penalty.date), col(Penalty.id))
    return list(session.exec(stmt).all())


def leaves_of(session: Session, *, expert_code: str) -> list[Leave]:
    """The expert's leave periods by start."""
    expert = get_expert_by_code(session, code=expert_code)
    stmt = select(Leave).where(Leave.expert_id == expert.id).order_by(col(Leave.from_date), col(Leave.id))
    return list(session.exec(stmt).all())


def add_booking(session: Session, *, expert_code: str, data: BookingCreate) -> Booking:
    """Record another engagement of the expert (E8)."""
    expert = get_expert_by_code(session, code=expert_code)
    booking = Booking.model_validate(data, update={"expert_id": expert.id})
    session.add(booking)
    session.flush()
    return booking


# --- Past committees -------------------------------------------------------------------------


def record_committee(
    session: Session,
    *,
    code: str,
    start: datetime,
    end: datetime,
    expert_codes: Sequence[str],
    tenderer_code: str | None = None,
) -> Committee:
    """Record a past committee (history for E6, E7, P2); `code` is the evaluated project's code."""
    if end <= start:
        raise InvalidExpertDataError("a committee must end after it starts")
    if code_taken(session, Committee, code):
        raise DuplicateCodeError("committee", code)
    tenderer_id = None if tenderer_code is None else get_org_by_code(session, code=tenderer_code).id
    committee = Committee(code=code, tenderer_id=tenderer_id, start=start, end=end)
    flush_unique(session, committee, DuplicateCodeError("committee", code))
    for ecode in sorted(set(expert_codes)):
        expert = get_expert_by_code(session, code=ecode)
        session.add(CommitteeMember(committee_id=row_id(committee), expert_id=row_id(expert)))
    session.flush()
    return committee


def committees_of(session: Session, *, expert_code: str, since: datetime | None = None) -> list[Committee]:
    """Past committees an expert sat on, by start time, optionally only those starting at or after `since`."""
    expert = get_expert_by_code(session, code=expert_code)
    stmt = (
        select(Committee)
        .join(CommitteeMember, col(CommitteeMember.committee_id) == Committee.id)
        .where(CommitteeMember.expert_id == expert.id)
    )
    if since is not None:
        stmt = stmt.where(col(Committee.start) >= since)
    return list(session.exec(stmt.order_by(col(Committee.start), col(Committee.code))).all())
