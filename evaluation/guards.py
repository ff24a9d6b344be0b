"""Scope guards shared by the routers: a draw or projects in the caller's scope, else a ledgered 404.

Unknown and out-of-scope resources answer alike, so a refusal reveals nothing about either.
Reading needs a project in scope (its main or an auxiliary site); acting on it needs its main site.
"""

from __future__ import annotations

import json

from fastapi import HTTPException, Request
from sqlmodel import Session

from access.deps import deny_out_of_scope
from access.service import Principal
from evaluation.models import Draw
from evaluation.visibility import visible_project_codes, writable_project_codes


def _codes_in_scope(session: Session, who: Principal, codes: list[str], write: bool) -> set[str]:
    return (writable_project_codes if write else visible_project_codes)(session, who, codes)


def projects_in_scope(request: Request, session: Session, who: Principal, codes: list[str], *,
                      write: bool = False) -> set[str]:
    """All of `codes` when every one is in scope; else a ledgered 404 naming the others."""
    allowed = _codes_in_scope(session, who, codes, write)
    hidden = sorted(set(codes) - allowed)
    if hidden:
        deny_out_of_scope(session, request, who, "projects " + ",".join(hidden)[:80])
        raise HTTPException(status_code=404, detail=[{"loc": ["project_codes"],
                                                      "msg": f"unknown projects: {', '.join(hidden)}"}])
    return allowed


def draw_in_scope(request: Request, session: Session, who: Principal, draw_id: int, *,
                  write: bool = False) -> tuple[Draw, set[str]]:
    """The draw and its project codes in the caller's scope; a ledgered 404 when there are none."""
    row = session.get(Draw, draw_id)
    allowed: set[str] = set()
    if row is not None:
        codes = list(row.project_codes) or list(json.loads(row.public_summary or "{}"))
        allowed = _codes_in_scope(session, who, codes, write)
    if row is None or not allowed:
        if row is not None:
            deny_out_of_scope(session, request, who, f"draw:{draw_id}")
        raise HTTPException(status_code=404, detail=[{"loc": ["draw_id"], "msg": "draw not found"}])
    return row, allowed
