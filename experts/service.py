"""Services of the expert pool: organisations, experts, their specialties and status.

The records around each expert (relations, penalties, leave, bookings, past committees) are
experts.records and the look-ups by code experts.lookup; both are re-exported here, where the
views, pages and importer find them.

Functions flush but never commit: the caller owns the transaction (config.db.session_scope).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from config.db import flush_unique
from experts.exceptions import DuplicateCodeError, DuplicateIdNumberError, InvalidExpertDataError
from experts.lookup import code_taken, get_expert_by_code, get_org_by_code, row_id
from experts.models import (
    Expert,
    ExpertCreate,
    ExpertSpecialty,
    ExpertStatus,
    ExpertUpdate,
    Organisation,
    OrganisationCreate,
)
from experts.records import (
    add_booking,
    add_leave,
    add_penalty,
    add_relation,
    committees_of,
    leaves_of,
    penalties_of,
    record_committee,
    relations_of,
)

__all__ = [
    "add_booking", "add_leave", "add_penalty", "add_relation", "add_specialty", "committees_of", "create_expert",
    "create_org", "get_expert_by_code", "get_org_by_code", "leaves_of", "list_experts", "penalties_of",
    "record_committee", "reinstate", "relations_of", "search_experts", "set_specialties", "set_status",
    "specialties_of", "suspend", "update_expert",
]

logger = logging.getLogger(__name__)


# --- Organisations --------------------------------------------------------------------------


def create_org(session: Session, *, data: OrganisationCreate) -> Organisation:
    """Create an organisation (employer, tenderer, agent, bidder, supervisor)."""
    if code_taken(session, Organisation, data.code):
        raise DuplicateCodeError("organisation", data.code)
    org = Organisation.model_validate(data)
    flush_unique(session, org, DuplicateCodeError("organisation", data.code))
    return org


# --- Experts --------------------------------------------------------------------------------


def create_expert(session: Session, *, data: ExpertCreate) -> Expert:
    """Create an expert with its specialties; duplicate code or id_number gives a domain error."""
    if code_taken(session, Expert, data.code):
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
        session.add(ExpertSpecialty(expert_id=row_id(expert), code=code))
    session.flush()
    logger.info("created expert %s", expert.code)
    return expert


def _holds_specialty(prefix: str) -> Any:
    # A WHERE clause on Expert: holds a specialty code under `prefix` (C3).
    sub = select(ExpertSpecialty.expert_id).where(col(ExpertSpecialty.code).startswith(prefix))
    return col(Expert.id).in_(sub)


def list_experts(
    session: Session, *, status: ExpertStatus | None = None, specialty_prefix: str | None = None
) -> list[Expert]:
    """Experts ordered by code; optionally one status, or holding a specialty under a prefix (C3)."""
    stmt = select(Expert)
    if status is not None:
        stmt = stmt.where(Expert.status == status)
    if specialty_prefix is not None:
        stmt = stmt.where(_holds_specialty(specialty_prefix))
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
    cond: list[Any] = []
    if status is not None:
        cond.append(Expert.status == status)
    if specialty_prefix:
        cond.append(_holds_specialty(specialty_prefix))
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
    rows = session.exec(select(ExpertSpecialty).where(ExpertSpecialty.expert_id == row_id(expert))).all()
    for row in rows:
        if row.code not in wanted:
            session.delete(row)
    for code in sorted(wanted - {row.code for row in rows}):
        session.add(ExpertSpecialty(expert_id=row_id(expert), code=code))
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
