"""Tables of the expert pool: organisations, experts and everything the eligibility rules read.

Experts, organisations and past committees carry a unique external `code` (the instance-format
id); child rows reference their parent by integer key. Datetimes are aware (UTC in the database).
"""

import re
from datetime import date as Date
from datetime import datetime
from typing import Literal

from pydantic import field_validator, model_validator
from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from config import clock
from config.types import CODE_PATTERN, FIRST_YEAR, BoundedDate, IsoDatetime, plain_text, plausible_region

ExpertStatus = Literal["active", "suspended", "removed", "blacklisted"]
EXPERT_STATUSES: tuple[str, ...] = ("active", "suspended", "removed", "blacklisted")
RelationKind = Literal["former_employment", "director", "shareholder", "relative", "legal_dispute", "avoid"]
RELATION_KINDS: tuple[str, ...] = (
    "former_employment", "director", "shareholder", "relative", "legal_dispute", "avoid",
)
REGION_PATTERN = r"^\d{6}$"
SPECIALTY_PATTERN = r"^[A-Z](\d\d)+$"
# An expert is an adult professional: born in the accepted years and at least this old today.
MIN_AGE_YEARS = 18


def _in(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


# --- Organisation ---------------------------------------------------------------------------


class OrganisationBase(SQLModel):
    code: str = Field(max_length=40, unique=True, index=True, schema_extra={"pattern": CODE_PATTERN})
    name: str = Field(default="", max_length=300)
    region: str | None = Field(default=None, schema_extra={"pattern": REGION_PATTERN}, max_length=6)


class Organisation(OrganisationBase, table=True):
    __tablename__ = "organisations"

    id: int | None = Field(default=None, primary_key=True)


class OrganisationCreate(OrganisationBase):
    pass


class OrganisationUpdate(SQLModel):
    name: str | None = Field(default=None, max_length=300)
    region: str | None = Field(default=None, schema_extra={"pattern": REGION_PATTERN})


class OrganisationPublic(OrganisationBase):
    id: int


# --- Expert ---------------------------------------------------------------------------------


def normalise_id_number(value: str) -> str:
    """An ID number as stored and looked up: no spaces or dashes, upper-case check letter (X of mainland cards)."""
    return "".join(ch for ch in value.strip() if ch not in " -\t").upper()


def plausible_birth_date(value: Date) -> Date:
    """`value` when born FIRST_YEAR-01-01 or later and at least MIN_AGE_YEARS before today (config.clock)."""
    today = clock.now().date()
    try:
        latest = today.replace(year=today.year - MIN_AGE_YEARS)
    except ValueError:  # 29 February
        latest = today.replace(year=today.year - MIN_AGE_YEARS, day=28)
    earliest = Date(FIRST_YEAR, 1, 1)
    if not earliest <= value <= latest:
        raise ValueError(f"a birth date must lie between {earliest} and {latest} "
                         f"(an expert is at least {MIN_AGE_YEARS})")
    return value


class _PlausibleExpert(SQLModel):
    """Checks of what a person enters about an expert (not of rows read back, which may predate them)."""

    @field_validator("name", check_fields=False)
    @classmethod
    def _plain_name(cls, value: str | None) -> str | None:
        return None if value is None else plain_text(value)

    @field_validator("birth_date", check_fields=False)
    @classmethod
    def _born(cls, value: Date | None) -> Date | None:
        return None if value is None else plausible_birth_date(value)

    @field_validator("region", check_fields=False)
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return None if value is None else plausible_region(value)



class ExpertBase(SQLModel):
    code: str = Field(max_length=40, unique=True, index=True, schema_extra={"pattern": CODE_PATTERN})
    name: str = Field(default="", max_length=100)
    birth_date: Date
    region: str = Field(max_length=6, schema_extra={"pattern": REGION_PATTERN})
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    status: ExpertStatus = Field(default="active", sa_type=String(16), index=True)


class Expert(ExpertBase, table=True):
    __tablename__ = "experts"
    __table_args__ = (_in("status", EXPERT_STATUSES, "ck_experts_status"),)

    id: int | None = Field(default=None, primary_key=True)
    # The identity-document number is personal data: only check-in reads it; never exported.
    id_number: str | None = Field(default=None, max_length=40, unique=True)
    # Contact for notifications (personal data: never exported in a draw instance, never logged).
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=32)
    employer_id: int | None = Field(default=None, foreign_key="organisations.id", index=True)


class ExpertCreate(ExpertBase, _PlausibleExpert):
    id_number: str | None = Field(default=None, max_length=40)

    @field_validator("id_number")
    @classmethod
    def _normal_id(cls, value: str | None) -> str | None:
        return normalise_id_number(value) or None if value is not None else None
    email: str | None = Field(default=None, max_length=254, schema_extra={"pattern": r"^[^@\s]+@[^@\s]+$"})
    phone: str | None = Field(default=None, max_length=32, schema_extra={"pattern": r"^\+?[0-9 \-]{5,31}$"})
    employer_code: str | None = None
    specialties: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _specialty_codes(self) -> "ExpertCreate":
        for code in self.specialties:
            if not re.match(SPECIALTY_PATTERN, code):
                raise ValueError(f"{code!r} is not a specialty code (e.g. A0801)")
        return self


class ExpertUpdate(_PlausibleExpert):
    name: str | None = Field(default=None, max_length=100)
    birth_date: Date | None = None
    region: str | None = Field(default=None, schema_extra={"pattern": REGION_PATTERN})
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    employer_code: str | None = None
    email: str | None = Field(default=None, max_length=254, schema_extra={"pattern": r"^[^@\s]+@[^@\s]+$"})
    phone: str | None = Field(default=None, max_length=32, schema_extra={"pattern": r"^\+?[0-9 \-]{5,31}$"})


class ExpertPublic(ExpertBase):
    id: int
    employer_id: int | None


# --- Children of an expert -------------------------------------------------------------------


class ExpertSpecialty(SQLModel, table=True):
    __tablename__ = "expert_specialties"
    __table_args__ = (UniqueConstraint("expert_id", "code", name="uq_expert_specialties"),)

    id: int | None = Field(default=None, primary_key=True)
    expert_id: int = Field(foreign_key="experts.id", index=True, ondelete="CASCADE")
    code: str = Field(max_length=16, schema_extra={"pattern": SPECIALTY_PATTERN}, index=True)


class RelationBase(SQLModel):
    kind: RelationKind = Field(sa_type=String(24))
    from_date: Date | None = None
    to_date: Date | None = None


class Relation(RelationBase, table=True):
    __tablename__ = "expert_relations"
    __table_args__ = (_in("kind", RELATION_KINDS, "ck_expert_relations_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    expert_id: int = Field(foreign_key="experts.id", index=True, ondelete="CASCADE")
    org_id: int = Field(foreign_key="organisations.id", index=True)


class RelationCreate(RelationBase):
    from_date: BoundedDate | None = None
    to_date: BoundedDate | None = None
    org_code: str

    @model_validator(mode="after")
    def _ordered(self) -> "RelationCreate":
        if self.from_date and self.to_date and self.to_date < self.from_date:
            raise ValueError("to_date must not be before from_date")
        return self


class Penalty(SQLModel, table=True):
    __tablename__ = "expert_penalties"

    id: int | None = Field(default=None, primary_key=True)
    expert_id: int = Field(foreign_key="experts.id", index=True, ondelete="CASCADE")
    date: Date
    reason: str = Field(default="", max_length=1000)


class Leave(SQLModel, table=True):
    __tablename__ = "expert_leaves"
    __table_args__ = (CheckConstraint("to_date >= from_date", name="ck_expert_leaves_order"),)

    id: int | None = Field(default=None, primary_key=True)
    expert_id: int = Field(foreign_key="experts.id", index=True, ondelete="CASCADE")
    from_date: Date
    to_date: Date


class BookingBase(SQLModel):
    start: IsoDatetime
    end: IsoDatetime
    note: str = Field(default="", max_length=500)


class Booking(BookingBase, table=True):
    """Another engagement of an expert (rule E8)."""

    __tablename__ = "expert_bookings"

    id: int | None = Field(default=None, primary_key=True)
    expert_id: int = Field(foreign_key="experts.id", index=True, ondelete="CASCADE")


class BookingCreate(BookingBase):
    @model_validator(mode="after")
    def _ordered(self) -> "BookingCreate":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


# --- Past committees (history for rules E6, E7, P2) ------------------------------------------


class Committee(SQLModel, table=True):
    __tablename__ = "committees"
    __table_args__ = (Index("ix_committees_start", "start"),)

    id: int | None = Field(default=None, primary_key=True)
    # The evaluated project's code (instance `history[].project`).
    code: str = Field(max_length=60, unique=True, index=True)
    tenderer_id: int | None = Field(default=None, foreign_key="organisations.id", index=True)
    start: datetime
    end: datetime


class CommitteeMember(SQLModel, table=True):
    __tablename__ = "committee_members"
    __table_args__ = (UniqueConstraint("committee_id", "expert_id", name="uq_committee_members"),)

    id: int | None = Field(default=None, primary_key=True)
    committee_id: int = Field(foreign_key="committees.id", index=True, ondelete="CASCADE")
    expert_id: int = Field(foreign_key="experts.id", index=True)


# --- API shapes (the id_number never leaves the service) --------------------------------------


class ExpertDetail(ExpertPublic):
    employer_code: str | None = None
    specialties: list[str] = Field(default_factory=list)
    email: str | None = None
    phone: str | None = None


class ExpertPage(SQLModel):
    total: int
    offset: int
    limit: int
    items: list[ExpertDetail]


class RelationPublic(RelationBase):
    id: int
    org_code: str


class PenaltyCreate(SQLModel):
    date: BoundedDate
    reason: str = Field(default="", max_length=1000)


class PenaltyPublic(PenaltyCreate):
    # Answers read rows back: a row stored before the input bounds still reads rather than failing.
    date: Date
    id: int


class LeaveCreate(SQLModel):
    from_date: BoundedDate
    to_date: BoundedDate

    @model_validator(mode="after")
    def _ordered(self) -> "LeaveCreate":
        if self.to_date < self.from_date:
            raise ValueError("to_date must not be before from_date")
        return self


class LeavePublic(LeaveCreate):
    from_date: Date
    to_date: Date
    id: int
