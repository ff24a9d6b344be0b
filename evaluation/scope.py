"""Site scope of projects, as plain site ids: the scheduler knows sites, not users (access maps users to sites).

A project lies at a site when it is its main site, one of its fixed auxiliary sites, or a site
where it holds drawn seats.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

from sqlalchemy import exists, or_
from sqlmodel import col

from evaluation.models import Project, ProjectAuxSite, Seat


class SiteScoped(Protocol):
    """Anything with a site scope (access.service.Principal is one): all sites, or these."""

    @property
    def all_sites(self) -> bool: ...

    @property
    def site_ids(self) -> frozenset[int]: ...


def scope_sites(who: SiteScoped | None) -> frozenset[int] | None:
    """The site ids `who` is limited to; None when unlimited (no caller, or one who sees all sites)."""
    return None if who is None or who.all_sites else frozenset(who.site_ids)


def projects_at_sites(site_ids: Collection[int]) -> Any:
    """A WHERE clause on Project keeping the projects at any of `site_ids`."""
    sites = list(site_ids)
    return or_(
        col(Project.main_site_id).in_(sites),
        exists().where(col(ProjectAuxSite.project_id) == col(Project.id), col(ProjectAuxSite.site_id).in_(sites)),
        exists().where(col(Seat.project_id) == col(Project.id), col(Seat.site_id).in_(sites)),
    )
