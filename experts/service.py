"""Services of the expert pool: organisations, experts, relations, leave, penalties, history.

Functions flush but never commit: the caller owns the transaction (config.db.session_scope).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, or_
from sqlmodel import Session, SQLModel, col, select

from config.db import flush_unique
from experts.exceptions import (
    DuplicateCodeError,
    DuplicateIdNumberError,
    InvalidExpertDataError,
    NotFoundError,
)
from experts.models import (
    Booking,
    BookingCreate,
    Committee,
    CommitteeMember,
    Expert,
    ExpertCreate,
    ExpertSpecialty,
    ExpertStatus,
    ExpertUpdate,
    Leave,
    Organisation,
    OrganisationCreate,
    Penalty,
    Relation,
    RelationCreate,
)

logger = logging.getLogger(__name__)


def _code_taken(session: Session, model: type[Organisation | Expert | Committee], code: str) -> bool:
    return session.exec(select(model.id).where(model.code == code)).first() is not None


# --- Organisations --------------------------------------------------------------------------


def create_org(session: Session, *, data: OrganisationCreate) -> Organisation:
    """Create an organisation (employer, tenderer, agent, bidder, supervisor)."""
    if _code_taken(session, Organisation, data.code):
        raise DuplicateCodeError("organisation", data.code)
    org = Organisation.model_validate(data)
    flush_unique(session, org, DuplicateCodeError("organisation", data.code))
    return org


def get_org_by_code(session: Session, *, code: str) -> Organisation:
    """The organisation with this code; NotFoundError otherwise."""
    org = session.exec(select(Organisation).where(Organisation.code == code)).first()
    if org is None:
        raise NotFoundError("organisation", code)
    return org


# --- Experts --------------------------------------------------------------------------------


def create_expert(session: Session, *, data: ExpertCreate) -> Expert:
    """Create an expert with its specialties; duplicate code or id_number gives a domain error."""
    if _code_taken(session, Expert, data.code):
        raise DuplicateCodeError("expert", data.code)
    if data.id_number is not None and (
        session.exec(select(Expert.id).where(Expert.id_number == data.id_number)).first() is not None
    ):
        raise DuplicateIdNumberError()
    employer_id = None
    if data.employer_code is not None:
        employer_id = get_org_by_code(session, code=data.employer_code).id
    expert = Expert.model_validate(
        data.model_dump(exclude={"employer_code", "specialties"}), update={"employer_id": employer_id}
    )
    flush_unique(session, expert, DuplicateCodeError("expert", data.code))
    for code in sorted(set(data.specialties)):
        session.add(ExpertSpecialty(expert_id=_id(expert), code=code))
    session.flush()
    logger.info("created expert %s", expert.code)
    return expert


def _id(row: SQLModel) -> int:
    value = getattr(row, "id", None)
    assert value is not None, "row must be flushed first"
    return int(value)


def get_expert_by_code(session: Session, *, code: str) -> Expert:
    """The expert with this code; NotFoundError otherwise."""
    expert = session.exec(select(Expert).where(Expert.code == code)).first()
    if expert is None:
        raise NotFoundError("expert", code)
    return expert


def list_experts(
    session: Session, *, status: ExpertStatus | None = None, specialty_prefix: str | None = None
) -> list[Expert]:
    """Experts ordered by code; optionally one status, or holding a specialty under a prefix (C3)."""
    stmt = select(Expert)
    if status is not None:
        stmt = stmt.where(Expert.status == status)
    if specialty_prefix is not None:
        sub = select(ExpertSpecialty.expert_id).where(col(ExpertSpecialty.code).startswith(specialty_prefix))
        stmt = stmt.where(col(Expert.id).in_(sub))
    return list(session.exec(stmt.order_by(col(Expert.code))).all())


def search_experts(
    session: Session,
    *,
    status: ExpertStatus | None = None,
    specialty_prefix: str | None = None,
    region_prefix: str | None = None,
    text: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Expert], int]:
    """One page of experts by code and the total count, filtered by status, specialty, region and code/name text."""
    cond = []
    if status is not None:
        cond.append(Expert.status == status)
    if specialty_prefix:
        sub = select(ExpertSpecialty.expert_id).where(col(ExpertSpecialty.code).startswith(specialty_prefix))
        cond.append(col(Expert.id).in_(sub))
    if region_prefix:
        cond.append(col(Expert.region).startswith(region_prefix))
    if text:
        like = f"%{text.lower()}%"
        cond.append(or_(func.lower(Expert.code).like(like), func.lower(Expert.name).like(like)))
    total = session.exec(select(func.count()).select_from(Expert).where(*cond)).one()
    stmt = select(Expert).where(*cond).order_by(col(Expert.code)).offset(offset).limit(limit)
    return list(session.exec(stmt).all()), int(total)


def set_specialties(session: Session, *, expert: Expert, codes: Sequence[str]) -> None:
    """Make the expert's specialty codes exactly `codes` (validated by the caller)."""
    wanted = set(codes)
    rows = session.exec(select(ExpertSpecialty).where(ExpertSpecialty.expert_id == _id(expert))).all()
    for row in rows:
        if row.code not in wanted:
            session.delete(row)
    for code in sorted(wanted - {row.code for row in rows}):
        session.add(ExpertSpecialty(expert_id=_id(expert), code=code))
    session.flush()


def update_expert(session: Session, *, code: str, data: ExpertUpdate) -> Expert:
    """Apply the fields set in `data` to the expert with this code."""
    expert = get_expert_by_code(session, code=code)
    changes = data.model_dump(exclude_unset=True)
    if "employer_code" in changes:
        emp = changes.pop("employer_code")
        expert.employer_id = None if emp is None else get_org_by_code(session, code=emp).id
    expert.sqlmodel_update(changes)
    session.add(expert)
    session.flush()
    return expert


def specialties_of(session: Session, *, expert_code: str) -> list[str]:
    """The expert's specialty codes, sorted."""
    expert = get_expert_by_code(session, code=expert_code)
    stmt = select(ExpertSpecialty.code).where(ExpertSpecialty.expert_id == expert.id)
    return sorted(session.exec(stmt).all())


def add_specialty(session: Session, *, expert_code: str, specialty: str) -> ExpertSpecialty:
    """Give an expert one more specialty code (idempotent)."""
    expert = get_expert_by_code(session, code=expert_code)
    stmt = select(ExpertSpecialty).where(
        ExpertSpecialty.expert_id == expert.id, ExpertSpecialty.code == specialty
    )
    found = session.exec(stmt).first()
    if found is not None:
        return found
    try:
        row = ExpertSpecialty.model_validate({"expert_id": expert.id, "code": specialty})
    except ValueError as exc:
        raise InvalidExpertDataError(f"{specialty!r} is not a specialty code (e.g. A0801)") from exc
    session.add(row)
    session.flush()
    return row


def set_status(session: Session, *, expert_code: str, status: ExpertStatus) -> Expert:
    """Change an expert's pool status (E1 excludes every status but active)."""
    expert = get_expert_by_code(session, code=expert_code)
    expert.status = status
    session.add(expert)
    session.flush()
    logger.info("expert %s status set to %s", expert.code, status)
    return expert


def suspend(session: Session, *, expert_code: str) -> Expert:
    """Suspend an expert from the pool."""
    return set_status(session, expert_code=expert_code, status="suspended")


def reinstate(session: Session, *, expert_code: str) -> Expert:
    """Return a suspended expert to the active pool."""
    return set_status(session, expert_code=expert_code, status="active")


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
    pen = Penalty(expert_id=_id(expert), date=on, reason=reason)
    session.add(pen)
    session.flush()
    return pen


def add_leave(session: Session, *, expert_code: str, from_date: date, to_date: date) -> Leave:
    """Record a leave period, both dates inclusive (E8)."""
    if to_date < from_date:
        raise InvalidExpertDataError("a leave cannot end before it starts")
    expert = get_expert_by_code(session, code=expert_code)
    leave = Leave(expert_id=_id(expert), from_date=from_date, to_date=to_date)
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
    if _code_taken(session, Committee, code):
        raise DuplicateCodeError("committee", code)
    tenderer_id = None if tenderer_code is None else get_org_by_code(session, code=tenderer_code).id
    committee = Committee(code=code, tenderer_id=tenderer_id, start=start, end=end)
    flush_unique(session, committee, DuplicateCodeError("committee", code))
    for ecode in sorted(set(expert_codes)):
        expert = get_expert_by_code(session, code=ecode)
        session.add(CommitteeMember(committee_id=_id(committee), expert_id=_id(expert)))
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
