"""Bodies of the scheduled jobs: each `f(session, *, now) -> dict` of counts, testable without a scheduler.

They flush (or, where a service they call does, commit); the runner (api.jobs.runner) commits and
records the run. The returned dicts hold counts and ids only, never a name (D5).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlmodel import Session, col, select

import ledger
from config.clock import as_aware
from config.settings import get_settings
from evaluation import invitations, service
from evaluation.models import CheckinDeadline, DailyStats, Draw, DrawProject, Project, Seat
from evaluation.statistics import compute, local_day_bounds, local_zone
from venues.models import Site

logger = logging.getLogger(__name__)
ACTOR = "scheduler"


class CheckinDeadlineHook(Protocol):
    """Called once per project when its check-in deadline passes, inside the job's transaction (never commit)."""

    def __call__(self, session: Session, *, project: Project, now: datetime) -> None: ...


_deadline_hooks: list[CheckinDeadlineHook] = []


def register_checkin_deadline_hook(fn: CheckinDeadlineHook) -> None:
    """Register a hook run at each project's check-in deadline (e.g. replacing no-shows); idempotent."""
    if fn not in _deadline_hooks:
        _deadline_hooks.append(fn)


def unregister_checkin_deadline_hook(fn: CheckinDeadlineHook) -> None:
    """Remove a registered hook (tests, or a feature switched off)."""
    if fn in _deadline_hooks:
        _deadline_hooks.remove(fn)


def _counted(value: Any) -> dict[str, Any]:
    # The notify services return a count; a dict is passed through so a richer summary also fits.
    return dict(value) if isinstance(value, dict) else {"count": int(value or 0)}


def enqueue_reminders(session: Session, *, now: datetime) -> dict[str, Any]:
    """Enqueue reminders for projects starting soon (evaluation.invitations.enqueue_reminders)."""
    return _counted(invitations.enqueue_reminders(session, now=now))


def reveal_started(session: Session, *, now: datetime) -> dict[str, Any]:
    """Unseal the started projects of every draw not yet wholly revealed (each at its own start, D5)."""
    rows = session.exec(select(Draw.id, Project.start).join(DrawProject, col(DrawProject.draw_id) == col(Draw.id))
                        .join(Project, col(Project.id) == col(DrawProject.project_id))
                        .where(Draw.status == "drawn")).all()
    first: dict[int, datetime] = {}
    for draw_id, start in rows:
        if draw_id is not None:
            first[draw_id] = min(first.get(draw_id, as_aware(start)), as_aware(start))
    revealed: list[int] = []
    failed: list[int] = []
    for draw_id in sorted(d for d, start in first.items() if start <= now):
        try:
            before = service.unsealed_projects(session, draw_id=draw_id)
            service.reveal(session, draw_id=draw_id, now=now, actor=ACTOR)
            if service.unsealed_projects(session, draw_id=draw_id) != before:
                revealed.append(draw_id)
        except Exception as exc:  # one bad draw must not keep the others sealed
            session.rollback()
            failed.append(draw_id)
            logger.error("reveal of draw %s failed: %s", draw_id, type(exc).__name__)
    if failed:
        raise RevealFailed(f"{len(failed)} draw(s) could not be revealed: {failed}; revealed {revealed}")
    return {"revealed": revealed}


class RevealFailed(RuntimeError):
    """Some started draws could not be unsealed (the others were revealed)."""


def _seats_per_site(session: Session, project_id: int) -> dict[str, int]:
    codes = dict(session.exec(select(Site.id, Site.code)).all())
    counts = Counter(codes[s] for s in session.exec(select(Seat.site_id).where(Seat.project_id == project_id)).all())
    return dict(sorted(counts.items()))


def handle_checkin_deadlines(session: Session, *, now: datetime) -> dict[str, Any]:
    """Once per project past start + checkin_grace_minutes: run the hooks, or else ledger `checkin.deadline`."""
    grace = timedelta(minutes=get_settings().checkin_grace_minutes)
    handled = select(CheckinDeadline.project_id)
    candidates = session.exec(select(Project).where(
        col(Project.status).in_(("drawn", "evaluating")), col(Project.id).not_in(handled),
        col(Project.start) <= now - grace).order_by(col(Project.start), col(Project.code))).all()
    hooks = list(_deadline_hooks)
    done: list[str] = []
    for project in candidates:
        assert project.id is not None
        if hooks:
            for hook in hooks:
                hook(session, project=project, now=now)
        else:
            per_site = _seats_per_site(session, project.id)
            ledger.append(session, kind="checkin.deadline", subject=f"project:{project.code}", actor=ACTOR, ts=now,
                          payload={"project": project.code, "deadline": (as_aware(project.start) + grace).isoformat(),
                                   "seats": sum(per_site.values()), "seats_per_site": per_site})
        # Unique per project: a concurrent second run fails here instead of handling a project twice.
        session.add(CheckinDeadline(project_id=project.id, handled_at=now, hooks=len(hooks)))
        session.flush()
        done.append(project.code)
    return {"handled": len(done), "hooks": len(hooks), "projects": done}


def daily_statistics(session: Session, *, now: datetime) -> dict[str, Any]:
    """Store yesterday's (local day) statistics as one daily_stats row, replacing an earlier one."""
    day = now.astimezone(local_zone()).date() - timedelta(days=1)
    start, end = local_day_bounds(day)
    figures = compute(session, start=start, end=end, group="day")
    row = session.exec(select(DailyStats).where(DailyStats.day == day)).first() or DailyStats(day=day)
    row.projects = figures["totals"]["projects"]
    row.drawn = figures["totals"]["drawn"]
    row.infeasible = figures["totals"]["infeasible"]
    row.seats = figures["seats"]["total"]
    row.seats_per_site = {s["site"]: s["seats"] for s in figures["seats"]["per_site"]}
    row.seats_per_kind = dict(figures["seats"]["per_kind"])
    row.region_known_seats = figures["cross_region"]["region_known_seats"]
    row.cross_region_seats = figures["cross_region"]["cross_region_seats"]
    row.computed_at = now
    session.add(row)
    session.flush()
    return {"day": day.isoformat(), "projects": row.projects, "seats": row.seats}


# Job id -> body; the runner (api.jobs.bodies) joins these with the other packages' bodies.
BODIES: dict[str, Callable[..., dict[str, Any]]] = {
    "notify.reminders": enqueue_reminders,
    "draw.reveal": reveal_started,
    "checkin.deadline": handle_checkin_deadlines,
    "stats.daily": daily_statistics,
}
