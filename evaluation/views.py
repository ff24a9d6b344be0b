"""HTTP routes of the draw: run a draw, see its sealed view, reveal it, replace an expert."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from access.deps import Coordinator, IdPath, SessionDep, Staff
from config import clock
from evaluation import replacements, service
from evaluation.guards import draw_in_scope, projects_in_scope
from evaluation.invitations import after_draw
from evaluation.models import Draw
from scheduler.replace import REASONS

router = APIRouter(prefix="/api/draws", tags=["draw"])
ProjectCode = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[^\x00-\x1f\x7f]+$")]


class DrawRequest(BaseModel):
    """Projects to draw together (a day plan) and an optional hex seed (random when omitted)."""

    project_codes: list[ProjectCode] = Field(min_length=1, max_length=2000)
    seed: str | None = Field(default=None, pattern=r"^([0-9a-fA-F]{2}){1,64}$")


class DrawView(BaseModel):
    """What anyone may see of a draw before the evaluation starts (D5)."""

    id: int
    status: str
    created_at: datetime
    seed_sha256: str
    seed: str | None
    instance_sha256: str
    result_sha256: str | None
    software: str
    projects: dict[str, Any]


class ReplaceRequest(BaseModel):
    """Who leaves which project's committee, and why (R1/R2)."""

    project_code: str
    expert_code: str
    reason: str = Field(pattern="^(" + "|".join(REASONS) + ")$")


def _view(row: Any, visible: set[str]) -> DrawView:
    projects = {k: v for k, v in json.loads(row.public_summary or "{}").items() if k in visible}
    return DrawView(id=row.id, status=row.status, created_at=row.created_at, seed_sha256=row.seed_sha256,
                    seed=row.seed_hex, instance_sha256=row.instance_sha256, result_sha256=row.result_sha256,
                    software=row.software, projects=projects)


def _after_draw(session: Any, row: Draw) -> None:
    assert row.id is not None
    after_draw(session, draw_id=row.id, now=clock.now())
    session.commit()


@router.post("", response_model=DrawView, status_code=201)
def create_draw(body: DrawRequest, request: Request, session: SessionDep, who: Coordinator) -> DrawView:
    """Commit a seed, draw the projects, store the committee sealed; returns the sealed view."""
    visible = projects_in_scope(request, session, who, body.project_codes, write=True)
    row = service.draw(session, project_codes=body.project_codes, seed_hex=body.seed, actor=who.actor,
                       now=clock.now())
    _after_draw(session, row)
    return _view(row, visible)


@router.post("/commitments", response_model=DrawView, status_code=201)
def commit_draw(body: DrawRequest, request: Request, session: SessionDep, who: Coordinator) -> DrawView:
    """Step 1: publish the seed's commitment (SHA-256) before anything is drawn (D3)."""
    visible = projects_in_scope(request, session, who, body.project_codes, write=True)
    row = service.commit_draw(session, project_codes=body.project_codes, seed_hex=body.seed, actor=who.actor,
                              now=clock.now())
    return _view(row, visible)


@router.post("/{draw_id}/run", response_model=DrawView)
def run_draw(draw_id: IdPath, request: Request, session: SessionDep, who: Coordinator) -> DrawView:
    """Step 2: draw with the committed seed; the committee is stored sealed (D5)."""
    row, _ = draw_in_scope(request, session, who, draw_id, write=True)
    visible = projects_in_scope(request, session, who, list(row.project_codes), write=True)
    row = service.run_draw(session, draw_id=draw_id, actor=who.actor, now=clock.now())
    _after_draw(session, row)
    return _view(row, visible)


@router.get("/{draw_id}", response_model=DrawView)
def read_draw(draw_id: IdPath, request: Request, session: SessionDep, who: Staff) -> DrawView:
    """The sealed view of a draw: hashes and seat counts per site only."""
    row, visible = draw_in_scope(request, session, who, draw_id)
    return _view(row, visible)


@router.post("/{draw_id}/reveal")
def reveal_draw(draw_id: IdPath, request: Request, session: SessionDep, who: Staff) -> dict[str, Any]:
    """Unseal the committee once the evaluation has started (403 before); only projects in scope."""
    _, visible = draw_in_scope(request, session, who, draw_id)
    result = service.reveal(session, draw_id=draw_id, now=clock.now(), actor=who.actor)
    return {**result, "projects": [p for p in result["projects"] if p["project"] in visible]}


@router.post("/{draw_id}/replacements")
def replace_expert(
    draw_id: IdPath, body: ReplaceRequest, request: Request, session: SessionDep, who: Coordinator
) -> dict[str, Any]:
    """Replace an expert who declined, failed check-in or stepped aside; returns the record."""
    _, visible = draw_in_scope(request, session, who, draw_id, write=True)
    if body.project_code not in visible:
        raise HTTPException(status_code=404, detail=[{"loc": ["project_code"], "msg": "project not in this draw"}])
    if not replacements.replacement_by_code_open(session, project_code=body.project_code, now=clock.now()):
        raise HTTPException(status_code=403, detail=[{"loc": ["expert_code"],
                                                      "msg": replacements.BEFORE_START_REPLACEMENT}])
    record = replacements.replace(session, draw_id=draw_id, project_code=body.project_code,
                             expert_code=body.expert_code, reason=body.reason, now=clock.now(),
                             actor=who.actor)
    return record
