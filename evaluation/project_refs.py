"""Projects and the organisations and sites they name, looked up by code; the errors of project services."""

from __future__ import annotations

from sqlmodel import Session, col, select

from config.messages import Explained
from evaluation.models import Project
from experts.models import Organisation
from venues.models import Site


class FieldError(Explained, ValueError):
    """An error about one input field; `field` names it (and `key`, when given, its catalogue message)."""

    def __init__(self, field: str, message: str, *, key: str | None = None, **values: object) -> None:
        super().__init__(message)
        self.field = field
        if key is not None:
            self.explain(key, **values)


class ProjectDataError(FieldError):
    """Bad project input; `field` names the offending field (answered 422)."""


class ProjectNotFound(LookupError):
    """No project with that code (answered 404)."""


class ProjectExists(ValueError):
    """A project with that code already exists (answered 409)."""


class ProjectStateError(FieldError):
    """The project's status forbids this change (answered 409); the message gives advice."""


def _ids_by_code(session: Session, model: type[Organisation] | type[Site], codes: list[str], field: str,
                 what: str) -> dict[str, int]:
    if not codes:
        return {}
    rows = session.exec(select(model.code, model.id).where(col(model.code).in_(codes))).all()
    found = {code: int(row_id) for code, row_id in rows if row_id is not None}
    missing = [c for c in codes if c not in found]
    if missing:
        raise ProjectDataError(field, f"unknown {what} codes: {', '.join(missing)}")
    return found


def org_ids(session: Session, codes: list[str], field: str) -> list[int]:
    """The ids of these organisation codes, duplicates dropped; ProjectDataError naming `field` if one is unknown."""
    found = _ids_by_code(session, Organisation, codes, field, "organisation")
    return [found[c] for c in dict.fromkeys(codes)]


def site_ids(session: Session, codes: list[str], field: str) -> list[int]:
    """The ids of these site codes in order (duplicates kept for the caller to refuse); ProjectDataError if unknown."""
    found = _ids_by_code(session, Site, codes, field, "site")
    return [found[c] for c in codes]


def get_project(session: Session, *, code: str) -> Project | None:
    """The project with this code, or None."""
    return session.exec(select(Project).where(Project.code == code)).first()


def require_project(session: Session, *, code: str) -> Project:
    """The project with this code; ProjectNotFound otherwise."""
    project = get_project(session, code=code)
    if project is None:
        raise ProjectNotFound(f"no project with code {code!r}")
    return project
