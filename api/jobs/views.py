"""HTTP routes of the jobs and statistics: `GET /api/jobs` (admin) and `GET /api/stats` (staff, scoped)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from access.deps import Admin, SessionDep, Staff
from api.jobs import runner
from api.jobs.models import JobRunPublic
from config.settings import get_settings
from config.types import IsoDatetime
from evaluation import statistics
from evaluation.scope import scope_sites

router = APIRouter(tags=["jobs"])


class JobView(BaseModel):
    """A scheduled job: its trigger, next run time (null when not in the job store) and last runs."""

    id: str
    name: str
    name_en: str
    trigger: str
    scheduled: bool
    next_run_time: IsoDatetime | None
    last_runs: list[JobRunPublic]


class PeriodRow(BaseModel):
    period: str
    projects: int
    drawn: int
    infeasible: int


class SiteSeats(BaseModel):
    site: str
    name: str
    kind: str
    seats: int


class SeatFigures(BaseModel):
    total: int
    per_site: list[SiteSeats]
    per_kind: dict[str, int]


class CrossRegion(BaseModel):
    """Seats of revealed draws only (sealed committees are not unsealed for statistics, D5)."""

    region_known_seats: int
    cross_region_seats: int
    sealed_seats: int
    share: float | None


class Totals(BaseModel):
    projects: int
    drawn: int
    infeasible: int


class StatsView(BaseModel):
    """Counts for projects starting in [from, to), never a name."""

    model_config = ConfigDict(populate_by_name=True)

    from_: IsoDatetime = Field(alias="from")
    to: IsoDatetime
    group: Literal["day", "week", "month"]
    periods: list[PeriodRow]
    totals: Totals
    seats: SeatFigures
    cross_region: CrossRegion


@router.get("/api/jobs", response_model=list[JobView])
def list_jobs(session: SessionDep, who: Admin,
              runs: Annotated[int, Query(ge=0, le=50, description="Last runs shown per job")] = 5) -> Any:
    """The scheduled jobs with their next run time and last runs (admin)."""
    return runner.job_overview(session, runs=runs)


@router.get("/api/stats", response_model=StatsView)
def stats(
    session: SessionDep, who: Staff,
    from_: Annotated[IsoDatetime, Query(alias="from", description="Start of the period (inclusive)")],
    to: Annotated[IsoDatetime, Query(description="End of the period (exclusive)")],
    group: Annotated[Literal["day", "week", "month"], Query()] = "day",
) -> Any:
    """Projects, seats per site and the cross-region share over a period, within the caller's sites."""
    if to <= from_:
        raise HTTPException(422, [{"loc": ["query", "to"], "msg": "`to` must be after `from`"}])
    limit = get_settings().stats_max_days
    if to - from_ > timedelta(days=limit):
        raise HTTPException(422, [{"loc": ["query", "to"], "msg": f"the period may span at most {limit} days"}])
    return statistics.compute(session, start=from_, end=to, group=group, site_ids=scope_sites(who))
