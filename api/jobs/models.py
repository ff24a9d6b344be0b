"""Tables of the scheduled jobs: run claims, daily statistics, handled check-in deadlines, the job store.

`job_runs` makes a scheduled run happen once even when several service processes share one job
store: APScheduler 3 does not coordinate schedulers, so each run first inserts its
(job_id, run_at) row and a unique-constraint failure means another process already has it.
"""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime
from sqlalchemy import JSON, CheckConstraint, Column, Float, LargeBinary, String, Table, Unicode, UniqueConstraint
from sqlmodel import Field, SQLModel

from scheduler.models import utcnow

RunStatus = Literal["running", "ok", "failed"]
JOBSTORE_TABLE = "apscheduler_jobs"

# APScheduler's SQLAlchemyJobStore creates this table itself (checkfirst); declaring the identical
# table here puts it under the migrations, and the test fixtures empty it between tests.
apscheduler_jobs = Table(
    JOBSTORE_TABLE,
    SQLModel.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


class JobRunBase(SQLModel):
    job_id: str = Field(max_length=64, index=True)
    # The scheduled run time claimed (a slot of the job's trigger), not the wall-clock start.
    run_at: AwareDatetime
    started_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    status: RunStatus = Field(default="running", sa_type=String(8))
    # Which process ran it ("host:pid"), to tell the service processes apart.
    runner: str = Field(default="", max_length=100)
    # Counts returned by the job body, or a short error text (no traceback, no personal data).
    summary: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    error: str = Field(default="", max_length=300)


class JobRun(JobRunBase, table=True):
    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("job_id", "run_at", name="uq_job_runs_slot"),
        CheckConstraint("status IN ('running', 'ok', 'failed')", name="ck_job_runs_status"),
    )

    id: int | None = Field(default=None, primary_key=True)


class JobRunPublic(JobRunBase):
    id: int


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
