"""Tables of the scheduled jobs: run claims and the job store.

The daily statistics and handled check-in deadlines the job bodies write live with the scheduler
(evaluation.models); they are re-exported here for existing imports.

`job_runs` makes a scheduled run happen once even when several service processes share one job
store: APScheduler 3 does not coordinate schedulers, so each run first inserts its
(job_id, run_at) row and a unique-constraint failure means another process already has it.
"""

from typing import Any, Literal

from pydantic import AwareDatetime
from sqlalchemy import JSON, CheckConstraint, Column, Float, LargeBinary, String, Table, Unicode, UniqueConstraint
from sqlmodel import Field, SQLModel

from evaluation.models import CheckinDeadline, DailyStats, DailyStatsBase, DailyStatsPublic

RunStatus = Literal["running", "ok", "failed"]
JOBSTORE_TABLE = "apscheduler_jobs"
__all__ = ["JOBSTORE_TABLE", "CheckinDeadline", "DailyStats", "DailyStatsBase", "DailyStatsPublic", "JobRun",
           "JobRunBase", "JobRunPublic", "RunStatus", "apscheduler_jobs"]

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
