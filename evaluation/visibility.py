"""Site scope of projects: a project lies in a user's scope when its main site, one of its fixed
auxiliary sites, or a site where it holds drawn seats is in the user's scope."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from access.service import Principal
from config import clock
from evaluation.models import Project, Seat
from evaluation.scope import projects_at_sites


def project_scope_clause(who: Principal) -> Any:
    """A WHERE clause on Project keeping the projects in `who`'s scope."""
    return col(Project.id).is_not(None) if who.all_sites else projects_at_sites(who.site_ids)


def project_write_clause(who: Principal) -> Any:
    """A WHERE clause on Project keeping the projects `who` may act on: main site in scope."""
    return col(Project.id).is_not(None) if who.all_sites else col(Project.main_site_id).in_(list(who.site_ids))


def visible_project_codes(session: Session, who: Principal, codes: list[str]) -> set[str]:
    """The subset of `codes` naming projects in `who`'s scope."""
    if not codes:
        return set()
    stmt = select(Project.code).where(col(Project.code).in_(codes), project_scope_clause(who))
    return set(session.exec(stmt).all())


def project_visible(session: Session, who: Principal, project: Project) -> bool:
    """True when the project lies in `who`'s scope."""
    return bool(visible_project_codes(session, who, [project.code]))


def writable_project_codes(session: Session, who: Principal, codes: list[str]) -> set[str]:
    """The subset of `codes` the caller may act on: projects whose main site lies in the caller's scope.

    Auxiliary sites' staff see a project (it uses their rooms) but only the main site's staff run it.
    """
    if not codes:
        return set()
    stmt = select(Project.code).where(col(Project.code).in_(codes))
    if not who.all_sites:
        stmt = stmt.where(col(Project.main_site_id).in_(list(who.site_ids)))
    return set(session.exec(stmt).all())


def projects_run_elsewhere(session: Session, who: Principal, report: dict[str, Any]) -> list[str]:
    """Visible drawn projects of other main sites overlapping a closure report's window: their own staff re-plan them.

    Only a project's main site runs it (as for bid opening), so an auxiliary site closing its rooms is told
    which projects to hand over rather than moving another centre's committee.
    """
    if who.all_sites:
        return []
    start, end = datetime.fromisoformat(report["start"]), datetime.fromisoformat(report["end"])
    stmt = select(Project.code).where(
        project_scope_clause(who), col(Project.main_site_id).not_in(list(who.site_ids)),
        col(Project.status).in_(("drawn", "evaluating")), col(Project.start) < end, col(Project.end) > start,
        col(Project.end) > clock.now()).order_by(col(Project.code))
    return list(session.exec(stmt).all())


def seat_sites_of_own_projects(session: Session, who: Principal) -> set[int]:
    """Sites where drawn projects run from `who`'s main sites hold seats: closures there concern them."""
    if who.all_sites or not who.site_ids:
        return set()
    stmt = select(Seat.site_id).join(Project, col(Project.id) == col(Seat.project_id)).where(
        col(Project.main_site_id).in_(list(who.site_ids)), col(Project.status).in_(("drawn", "evaluating")))
    return set(session.exec(stmt.distinct()).all())


def may_replan_site(session: Session, who: Principal, site_id: int | None) -> bool:
    """Whether `who` may re-plan for a closure of this site: it is theirs, or their projects sit there."""
    return who.sees_site(site_id) or (site_id is not None and site_id in seat_sites_of_own_projects(session, who))
