"""Tables of the draw: projects to evaluate, draws (sealed results) and the seats they fill.

No table holds an expert reference of a drawn seat in clear: `Seat.expert_sealed`,
`Replacement.*_sealed` and `Draw.sealed_result` are AES-GCM blobs (config.sealing), so the
committee list stays confidential until the evaluation starts (rule D5).
"""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime
from sqlalchemy import JSON, CheckConstraint, Index, LargeBinary, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from config.clock import utcnow
from config.types import CODE_PATTERN, IsoDatetime, StoredDatetime

Procedure = Literal["engineering_tender", "gp_tender", "gp_negotiation"]
AuxMode = Literal["random", "fixed"]
ProjectStatus = Literal["planned", "committed", "drawn", "infeasible", "evaluating", "done", "cancelled"]
DrawStatus = Literal["committed", "drawn", "revealed"]
# Statuses of a project whose drawn committee holds its seats ("cancelled" seats are no longer held).
HOLDING: tuple[str, ...] = ("drawn", "evaluating", "done")
PROCEDURES: tuple[str, ...] = ("engineering_tender", "gp_tender", "gp_negotiation")
REGION_PATTERN = r"^\d{6}$"
SPECIALTY_PATTERN = r"^[A-Z](\d\d)+$"
# The largest budget accepted (CNY): far above any single procurement, far below float trouble.
MAX_BUDGET = 1e13


def _in(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


# --- Project --------------------------------------------------------------------------------


class ProjectBase(SQLModel):
    # The code is a URL path segment (/projects/{code}): the shared code pattern keeps it addressable.
    code: str = Field(max_length=60, unique=True, index=True, schema_extra={"pattern": CODE_PATTERN})
    name: str = Field(default="", max_length=300)
    procedure: Procedure = Field(sa_type=String(24))
    budget: float = Field(ge=0, le=MAX_BUDGET, schema_extra={"allow_inf_nan": False})
    region: str = Field(max_length=6, schema_extra={"pattern": REGION_PATTERN})
    start: IsoDatetime = Field(index=True)
    end: IsoDatetime
    size: int = Field(ge=1)
    representatives: int = Field(ge=0)


class Project(ProjectBase, table=True):
    __tablename__ = "projects"
    __table_args__ = (
        _in("procedure", PROCEDURES, "ck_projects_procedure"),
        _in("aux_mode", ("random", "fixed"), "ck_projects_aux_mode"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenderer_id: int = Field(foreign_key="organisations.id", index=True)
    agent_id: int | None = Field(default=None, foreign_key="organisations.id", index=True)
    main_site_id: int = Field(foreign_key="sites.id", index=True)
    # "random": the draw picks the auxiliary sites (S5, instance `aux_sites` null);
    # "fixed": ProjectAuxSite rows list them (possibly none: main site alone).
    aux_mode: str = Field(default="random", sa_type=String(8))
    status: str = Field(default="planned", sa_type=String(16), index=True)


class NeedIn(SQLModel):
    specialty: str = Field(schema_extra={"pattern": SPECIALTY_PATTERN})
    count: int = Field(ge=1)


class ProjectCreate(ProjectBase):
    tenderer_code: str
    agent_code: str | None = None
    bidder_codes: list[str] = Field(default_factory=list)
    supervisor_org_codes: list[str] = Field(default_factory=list)
    main_site_code: str
    aux_site_codes: list[str] | None = None
    needs: list[NeedIn] = Field(min_length=1)


class ProjectUpdate(SQLModel):
    name: str | None = None
    budget: float | None = Field(default=None, ge=0, le=MAX_BUDGET, schema_extra={"allow_inf_nan": False})
    start: IsoDatetime | None = None
    end: IsoDatetime | None = None
    size: int | None = Field(default=None, ge=1)
    representatives: int | None = Field(default=None, ge=0)
    needs: list[NeedIn] | None = Field(default=None, min_length=1)
    status: ProjectStatus | None = None


class ProjectPublic(ProjectBase):
    # Answers read rows back: a row stored before the input bounds still reads rather than failing.
    code: str
    budget: float
    start: StoredDatetime
    end: StoredDatetime
    id: int
    tenderer_id: int
    agent_id: int | None
    main_site_id: int
    aux_mode: AuxMode
    status: ProjectStatus


class ProjectBidder(SQLModel, table=True):
    __tablename__ = "project_bidders"
    __table_args__ = (UniqueConstraint("project_id", "org_id", name="uq_project_bidders"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", index=True, ondelete="CASCADE")
    org_id: int = Field(foreign_key="organisations.id", index=True)


class ProjectSupervisorOrg(SQLModel, table=True):
    __tablename__ = "project_supervisor_orgs"
    __table_args__ = (UniqueConstraint("project_id", "org_id", name="uq_project_supervisor_orgs"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", index=True, ondelete="CASCADE")
    org_id: int = Field(foreign_key="organisations.id", index=True)


class ProjectAuxSite(SQLModel, table=True):
    __tablename__ = "project_aux_sites"
    __table_args__ = (UniqueConstraint("project_id", "site_id", name="uq_project_aux_sites"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", index=True, ondelete="CASCADE")
    site_id: int = Field(foreign_key="sites.id", index=True)
    position: int = 0


class ProjectNeed(SQLModel, table=True):
    __tablename__ = "project_needs"
    __table_args__ = (UniqueConstraint("project_id", "specialty", name="uq_project_needs"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", index=True, ondelete="CASCADE")
    specialty: str = Field(max_length=16)
    count: int = Field(ge=1)


class ProjectExclusion(SQLModel, table=True):
    """An expert who declined, was replaced or stepped aside on a project (rule E9)."""

    __tablename__ = "project_exclusions"
    __table_args__ = (UniqueConstraint("project_id", "expert_id", name="uq_project_exclusions"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", index=True, ondelete="CASCADE")
    expert_id: int = Field(foreign_key="experts.id", index=True)
    reason: str = Field(default="", max_length=200)
    at: datetime = Field(default_factory=utcnow)


# --- Draw -----------------------------------------------------------------------------------


class DrawBase(SQLModel):
    created_at: IsoDatetime = Field(default_factory=utcnow, index=True)
    seed_sha256: str = Field(max_length=64)
    instance_sha256: str = Field(max_length=64)
    software: str = Field(max_length=100)


class Draw(DrawBase, table=True):
    __tablename__ = "draws"
    __table_args__ = (_in("status", ("committed", "drawn", "revealed"), "ck_draws_status"),)

    id: int | None = Field(default=None, primary_key=True)
    # Published only at reveal (D3): before, the commitment seed_sha256 alone is visible.
    seed_hex: str | None = Field(default=None, max_length=256)
    result_sha256: str | None = Field(default=None, max_length=64)
    status: str = Field(default="committed", sa_type=String(16), index=True)
    # The whole draw-result/1 JSON, sealed with AAD b"draw:<id>".
    sealed_result: bytes | None = Field(default=None, sa_type=LargeBinary)
    # The seed between commitment and solving (two-step draw), sealed with AAD b"seed:<id>".
    sealed_seed: bytes | None = Field(default=None, sa_type=LargeBinary)
    # The projects committed to, in order (so the run draws exactly what was committed).
    project_codes: list[str] = Field(default_factory=list, sa_type=JSON)
    # Canonical JSON text, public before the evaluation: per project its status and seat counts per site.
    public_summary: str = Field(default="{}", sa_type=Text)


class DrawPublic(DrawBase):
    id: int
    seed_hex: str | None
    result_sha256: str | None
    status: DrawStatus
    public_summary: str


class DrawProject(SQLModel, table=True):
    __tablename__ = "draw_projects"
    __table_args__ = (UniqueConstraint("draw_id", "project_id", name="uq_draw_projects"),)

    id: int | None = Field(default=None, primary_key=True)
    draw_id: int = Field(foreign_key="draws.id", index=True, ondelete="CASCADE")
    project_id: int = Field(foreign_key="projects.id", index=True)
    status: str = Field(sa_type=String(16))
    sampling: str | None = Field(default=None, sa_type=String(16))
    aux_sites: list[str] | None = Field(default=None, sa_type=JSON)
    seat_counts: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class Seat(SQLModel, table=True):
    """One drawn seat; which expert holds it is sealed (AAD from config.sealing.seat_aad)."""

    __tablename__ = "seats"
    __table_args__ = (Index("ix_seats_draw_project", "draw_id", "project_id"),)

    id: int | None = Field(default=None, primary_key=True)
    draw_id: int = Field(foreign_key="draws.id", index=True, ondelete="CASCADE")
    project_id: int = Field(foreign_key="projects.id", index=True)
    need: str = Field(max_length=16)
    site_id: int = Field(foreign_key="sites.id", index=True)
    room_id: int = Field(foreign_key="rooms.id", index=True)
    expert_sealed: bytes = Field(sa_type=LargeBinary)


class SeatPublic(SQLModel):
    id: int
    draw_id: int
    project_id: int
    need: str
    site_id: int
    room_id: int


class Replacement(SQLModel, table=True):
    """A replacement (R1) and its record (R2); both expert references are sealed."""

    __tablename__ = "replacements"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", index=True)
    draw_id: int | None = Field(default=None, foreign_key="draws.id", index=True)
    need: str = Field(max_length=16)
    replaced_expert_sealed: bytes = Field(sa_type=LargeBinary)
    new_expert_sealed: bytes | None = Field(default=None, sa_type=LargeBinary)
    reason: str = Field(max_length=200)
    at: datetime = Field(default_factory=utcnow, index=True)


# --- Scheduled jobs' results --------------------------------------------------------------------


class DailyStatsBase(SQLModel):
    # The local calendar day (display_utc_offset_hours) the figures are for.
    day: date = Field(unique=True, index=True)
    projects: int = Field(default=0, ge=0)
    drawn: int = Field(default=0, ge=0)
    infeasible: int = Field(default=0, ge=0)
    seats: int = Field(default=0, ge=0)
    # {site code: seats} and {site kind: seats}: counts only, never an expert.
    seats_per_site: dict[str, int] = Field(default_factory=dict, sa_type=JSON)
    seats_per_kind: dict[str, int] = Field(default_factory=dict, sa_type=JSON)
    # Seats of revealed draws whose holder's home region is known, and those outside the project's prefecture.
    region_known_seats: int = Field(default=0, ge=0)
    cross_region_seats: int = Field(default=0, ge=0)
    computed_at: AwareDatetime = Field(default_factory=utcnow)


class DailyStats(DailyStatsBase, table=True):
    __tablename__ = "daily_stats"

    id: int | None = Field(default=None, primary_key=True)


class DailyStatsPublic(DailyStatsBase):
    id: int


class CheckinDeadline(SQLModel, table=True):
    """A project whose check-in deadline (start + checkin_grace_minutes) has been handled, once."""

    __tablename__ = "checkin_deadlines"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", unique=True, index=True, ondelete="CASCADE")
    handled_at: datetime = Field(default_factory=utcnow)
    # How many registered hooks ran (0: only the ledger entry was written).
    hooks: int = Field(default=0, ge=0)
