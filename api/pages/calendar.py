"""The start page: a month calendar of the projects in the user's scope."""

from __future__ import annotations

import calendar as cal
import logging
import re
from collections import defaultdict
from datetime import date, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import col, select

from access.deps import SessionDep
from api.pages.common import console_user, error_page, local, local_tz, render
from config import clock
from config.types import FIRST_YEAR, LAST_YEAR
from evaluation.models import Project
from evaluation.visibility import project_scope_clause

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MONTH_NAMES_EN = tuple(cal.month_name)


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


@router.get("/")
@router.get("/calendar")
def calendar_page(request: Request, session: SessionDep, month: str | None = None) -> Response:
    """The month `month` (YYYY-MM, default: this month) with each project on its start day."""
    who = console_user(request, session)
    if isinstance(who, Response):
        return who
    if month is None:
        today = clock.now().astimezone(local_tz())
        year, mon = today.year, today.month
    else:
        found = MONTH.match(month)
        # Year 1 or 9999 would overflow when the month is shifted to UTC for the query.
        if found is None or not FIRST_YEAR <= int(found.group(1)) <= LAST_YEAR:
            return error_page(request, who, 422, "error.422", field="month (YYYY-MM)")
        year, mon = int(found.group(1)), int(found.group(2))
    tz = local_tz()
    first = datetime(year, mon, 1, tzinfo=tz)
    after = datetime(*_shift(year, mon, 1), 1, tzinfo=tz)
    rows = session.exec(select(Project).where(col(Project.start) >= first, col(Project.start) < after,
                                              project_scope_clause(who))
                        .order_by(col(Project.start), col(Project.code))).all()
    by_day: dict[date, list[Project]] = defaultdict(list)
    for project in rows:
        by_day[local(project.start).date()].append(project)
    weeks = cal.Calendar(firstweekday=0).monthdatescalendar(year, mon)
    prev_y, prev_m = _shift(year, mon, -1)
    next_y, next_m = _shift(year, mon, 1)
    return render(request, "calendar.html", {
        "year": year, "month": mon, "month_name": MONTH_NAMES_EN[mon], "weeks": weeks, "by_day": by_day,
        "count": len(rows), "prev": f"{prev_y:04d}-{prev_m:02d}", "next": f"{next_y:04d}-{next_m:02d}",
        "today": clock.now().astimezone(tz).date(),
    }, who=who)
