"""The statistics dashboard: projects per period, participation per site and kind, cross-region share.

Figures come from `evaluation.statistics.compute` (counts only, in the user's site scope); charts
are inline SVG bars rendered on the server (no chart library shipped to the browser).
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import Response

from access.deps import SessionDep
from api.pages.common import console_user, error_page, in_range, local_tz, render
from config import clock
from evaluation import statistics

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
BAR_HEIGHT = 22
GROUPS = ("day", "week", "month")


def bars(counts: list[tuple[str, int]], width: int = 640) -> dict[str, Any]:
    """Geometry of a horizontal bar chart: one bar per (label, value), scaled to the largest value."""
    top = max((v for _, v in counts), default=0) or 1
    label_w, value_w = 170, 50
    span = width - label_w - value_w
    rows = [{"label": label, "value": value, "y": i * BAR_HEIGHT, "w": round(span * value / top, 1)}
            for i, (label, value) in enumerate(counts)]
    return {"rows": rows, "width": width, "height": max(len(rows), 1) * BAR_HEIGHT, "label_w": label_w,
            "bar_h": BAR_HEIGHT - 6}


def _month_start(year: int, month: int) -> date:
    index = year * 12 + month - 1
    return date(index // 12, index % 12 + 1, 1)


def _period(start: str | None, end: str | None) -> tuple[date, date] | str:
    """[start, end) from the query (YYYY-MM-DD), default: five months back to six ahead; else the bad field."""
    today = clock.now().astimezone(local_tz()).date()
    try:
        first = date.fromisoformat(start) if start else _month_start(today.year, today.month - 5)
    except ValueError:
        return "from"
    try:
        last = date.fromisoformat(end) if end else _month_start(today.year, today.month + 7)
    except ValueError:
        return "to"
    if not in_range(first):
        return "from"
    if last <= first or (last - first).days > 3 * 366 or not in_range(last):
        return "to"
    return first, last


@router.get("/stats")
def stats_page(request: Request, session: SessionDep, group: str = "month",
               start: str | None = None, end: str | None = None) -> Response:
    """The dashboard for the user's scope over [start, end) grouped by day, week or month."""
    who = console_user(request, session)
    if isinstance(who, Response):
        return who
    period = _period(start, end)
    if isinstance(period, str):
        return error_page(request, who, 422, "error.422", field=f"{period} (YYYY-MM-DD)")
    if group not in GROUPS:
        return error_page(request, who, 422, "error.422", field="group (day|week|month)")
    tz = local_tz()
    fig = statistics.compute(session, start=datetime.combine(period[0], datetime.min.time(), tz),
                             end=datetime.combine(period[1], datetime.min.time(), tz),
                             group=cast(statistics.Group, group), who=who)
    cross = fig["cross_region"]
    share = cross["share"]
    return render(request, "stats.html", {
        "per_period": bars([(r["period"], r["projects"]) for r in fig["periods"]]),
        "per_site": bars([(f"{r['site']} {r['name']}".strip(), r["seats"]) for r in fig["seats"]["per_site"]]),
        "per_kind": bars([(k, n) for k, n in fig["seats"]["per_kind"].items()]),
        "totals": fig["totals"], "cross": cross, "pct": None if share is None else round(100 * share),
        "group": group, "start": period[0].isoformat(), "end": period[1].isoformat(), "groups": GROUPS,
    }, who=who)
