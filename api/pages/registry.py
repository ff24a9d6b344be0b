"""Reference pages: sites and rooms, the expert pool (with the import form and its progress), users."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from access.deps import SessionDep
from access.models import ROLES
from accounts import service as auth_users
from api.pages.common import COORDINATORS, console_user, error_page, member, render
from api.pages.forms import writer
from config.settings import get_settings
from experts import importer
from experts import service as expert_service
from venues import service as venue_service

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
ADMIN = frozenset({"admin"})


@router.get("/sites")
def sites_page(request: Request, session: SessionDep) -> Response:
    """The sites in the user's scope with their rooms and seat counts."""
    who = console_user(request, session)
    if isinstance(who, Response):
        return who
    sites = [s for s in venue_service.list_sites(session) if who.sees_site(s.id)]
    rooms = {s.code: venue_service.list_rooms(session, site_code=s.code) for s in sites}
    return render(request, "sites.html", {"sites": sites, "rooms": rooms}, who=who)


@router.get("/experts")
def experts_page(request: Request, session: SessionDep, q: str | None = None, page: int = 0,
                 operation: int | None = None) -> Response:
    """One page of the pool (code, name, status; never id numbers or contacts) and the import form."""
    who = member(request, session, COORDINATORS)
    if isinstance(who, Response):
        return who
    if not 0 <= page <= 1_000_000 or (q is not None and len(q) > 100):
        return error_page(request, who, 422, "error.422", field="q" if 0 <= page <= 1_000_000 else "page")
    rows, total = expert_service.search_experts(session, text=q or None, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
    return render(request, "experts.html", {
        "experts": rows, "total": total, "q": q or "", "page": page, "pages": (total + PAGE_SIZE - 1) // PAGE_SIZE,
        "operation": operation, "may_import": who.all_sites,
        "error": request.session.pop("import_error", None),
    }, who=who)


@router.post("/experts/import")
def import_experts(
    request: Request, session: SessionDep, file: Annotated[UploadFile, File()],
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """Start an import of a CSV/.xlsx file as a long operation; the page then polls its progress."""
    # As the API: only admins and centre-wide coordinators change the pool.
    who = writer(request, session, csrf_token, COORDINATORS, centre_wide="expert pool write")
    if isinstance(who, Response):
        return who
    limit = get_settings().import_max_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        return error_page(request, who, 413, "error.422", field=f"file (> {limit} bytes)")
    try:
        rows = importer.read_file(data)
    except importer.ImportFileError as exc:
        request.session["import_error"] = str(exc)[:300]
        return RedirectResponse("/experts", status_code=303)
    op = importer.start_import(session, rows=rows, actor=who.actor)
    return RedirectResponse(f"/experts?operation={op.id}", status_code=303)


@router.get("/users")
def users_page(request: Request, session: SessionDep) -> Response:
    """Every user with role and scope (admin only; never hashes)."""
    who = member(request, session, ADMIN)
    if isinstance(who, Response):
        return who
    users = [auth_users.public(session, u) for u in auth_users.list_users(session)]
    return render(request, "users.html", {"users": users, "roles": ROLES, "v": {}}, who=who)
