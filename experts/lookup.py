"""Rows of the expert pool looked up by code, shared by experts.service and experts.records."""

from __future__ import annotations

from sqlmodel import Session, SQLModel, select

from experts.exceptions import NotFoundError
from experts.models import Committee, Expert, Organisation


def code_taken(session: Session, model: type[Organisation | Expert | Committee], code: str) -> bool:
    """True when a row of `model` already has this code."""
    return session.exec(select(model.id).where(model.code == code)).first() is not None


def row_id(row: SQLModel) -> int:
    """The id of a flushed row."""
    value = getattr(row, "id", None)
    assert value is not None, "row must be flushed first"
    return int(value)


def get_org_by_code(session: Session, *, code: str) -> Organisation:
    """The organisation with this code; NotFoundError otherwise."""
    org = session.exec(select(Organisation).where(Organisation.code == code)).first()
    if org is None:
        raise NotFoundError("organisation", code)
    return org


def get_expert_by_code(session: Session, *, code: str) -> Expert:
    """The expert with this code; NotFoundError otherwise."""
    expert = session.exec(select(Expert).where(Expert.code == code)).first()
    if expert is None:
        raise NotFoundError("expert", code)
    return expert
