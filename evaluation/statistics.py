"""Statistics over a period [from, to): projects per day/week/month, seats per site, cross-region share.

Counts only, never a name. The cross-region share needs each seat holder's home region, and the
holder is sealed (D5). It is computed for REVEALED draws only: their committees are public
already, so unsealing them server-side discloses nothing new, while an aggregate over sealed
committees (a one-project day, a narrow scope) could hint at who sits on a committee before the
evaluation starts. Seats of draws not yet revealed still count per site (sites are in clear) and
are reported as `sealed_seats`.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from typing import Any, Literal

from sqlmodel import Session, col, select

from config.sealing import seat_aad, unseal_text
from config.settings import get_settings
from evaluation.models import HOLDING, Draw, Project, Seat
from evaluation.scope import SiteScoped, projects_at_sites, scope_sites
from experts.models import Expert
from venues.models import SITE_KINDS, Room, Site

logger = logging.getLogger(__name__)

Group = Literal["day", "week", "month"]


def local_zone() -> timezone:
    """The display time zone (display_utc_offset_hours)."""
    return timezone(timedelta(hours=get_settings().display_utc_offset_hours))


def period_key(day: date, group: Group) -> str:
    """The bucket label of a local day: 2026-11-23, 2026-W48 (ISO week) or 2026-11."""
    if group == "day":
        return day.isoformat()
    if group == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


def _period_keys(start: datetime, end: datetime, group: Group, zone: timezone) -> list[str]:
    # Every bucket the period touches, empty ones included, so a chart has no gaps.
    first, last = start.astimezone(zone).date(), (end - timedelta(microseconds=1)).astimezone(zone).date()
    keys: dict[str, None] = {}
    day = first
    while day <= last:
        keys[period_key(day, group)] = None
        day += timedelta(days=1)
    return list(keys)


def _projects(session: Session, start: datetime, end: datetime, site_ids: frozenset[int] | None) -> list[Project]:
    conds: list[Any] = [col(Project.start) >= start, col(Project.start) < end]
    if site_ids is not None:
        conds.append(projects_at_sites(site_ids))
    return list(session.exec(select(Project).where(*conds).order_by(col(Project.start), col(Project.code))).all())


def _cross_region(session: Session, seats: list[Seat], projects: dict[int, Project]) -> tuple[int, int, int]:
    """(revealed seats with a known home region, of which outside the project's prefecture, sealed seats)."""
    draw_ids = {s.draw_id for s in seats}
    revealed = set(session.exec(select(Draw.id).where(col(Draw.id).in_(draw_ids), Draw.status == "revealed")).all())
    rooms = {r.id: r.code for r in session.exec(select(Room).where(col(Room.id).in_({s.room_id for s in seats})))}
    holders: list[tuple[Seat, str]] = []
    for s in seats:
        if s.draw_id in revealed:
            aad = seat_aad(s.draw_id, projects[s.project_id].code, s.need, rooms[s.room_id])
            holders.append((s, unseal_text(s.expert_sealed, aad=aad)))
    regions = dict(session.exec(select(Expert.code, Expert.region).where(
        col(Expert.code).in_({code for _, code in holders}))).all())
    known = cross = 0
    for s, code in holders:
        region = regions.get(code)
        if not region:
            continue
        known += 1
        cross += region[:4] != projects[s.project_id].region[:4]
    return known, cross, len(seats) - len(holders)


def compute(session: Session, *, start: datetime, end: datetime, group: Group = "day",
            site_ids: frozenset[int] | None = None, who: SiteScoped | None = None) -> dict[str, Any]:
    """Figures for projects starting in [start, end) at `site_ids` (None: all sites), or in `who`'s site scope."""
    if who is not None:
        if site_ids is not None:
            raise TypeError("give the scope as site_ids or as who, not both")
        site_ids = scope_sites(who)
    zone = local_zone()
    projects = _projects(session, start, end, site_ids)
    periods: dict[str, dict[str, Any]] = {k: {"period": k, "projects": 0, "drawn": 0, "infeasible": 0}
               for k in _period_keys(start, end, group, zone)}
    for p in projects:
        row = periods[period_key(p.start.astimezone(zone).date(), group)]
        row["projects"] += 1
        row["drawn"] += p.status in HOLDING
        row["infeasible"] += p.status == "infeasible"
    holding = {p.id: p for p in projects if p.status in HOLDING and p.id is not None}
    seat_conds: list[Any] = [col(Seat.project_id).in_(holding)]
    if site_ids is not None:
        # A scoped user sees the seats held at their own sites only, even of a project shared with others.
        seat_conds.append(col(Seat.site_id).in_(site_ids))
    seats = list(session.exec(select(Seat).where(*seat_conds)).all()) if holding else []
    per_site_id = Counter(s.site_id for s in seats)
    sites = {s.id: s for s in session.exec(select(Site).where(col(Site.id).in_(per_site_id)))}
    per_site: list[dict[str, Any]] = [
        {"site": sites[i].code, "name": sites[i].name, "kind": sites[i].kind, "seats": n}
        for i, n in sorted(per_site_id.items(), key=lambda item: sites[item[0]].code)]
    per_kind = dict.fromkeys(SITE_KINDS, 0)
    for i, n in per_site_id.items():
        per_kind[sites[i].kind] += n
    known, cross, sealed = _cross_region(session, seats, holding)
    return {
        "from": start, "to": end, "group": group,
        "periods": list(periods.values()),
        "totals": {"projects": len(projects), "drawn": len(holding),
                   "infeasible": sum(p.status == "infeasible" for p in projects)},
        "seats": {"total": len(seats), "per_site": per_site, "per_kind": per_kind},
        "cross_region": {"region_known_seats": known, "cross_region_seats": cross, "sealed_seats": sealed,
                         "share": round(cross / known, 4) if known else None},
    }


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day, as aware datetimes."""
    begin = datetime(day.year, day.month, day.day, tzinfo=local_zone())
    return begin, begin + timedelta(days=1)
