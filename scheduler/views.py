"""HTTP routes of the draw: run a draw, see its sealed view, reveal it, replace an expert."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.deps import get_session
from scheduler import service
from scheduler.replace import REASONS

router = APIRouter(prefix="/api/draws", tags=["draw"])
SessionDep = Annotated[Session, Depends(get_session)]


class DrawRequest(BaseModel):
    """Projects to draw together (a day plan) and an optional hex seed (random when omitted)."""

    project_codes: list[str] = Field(min_length=1, max_length=2000)
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


def _view(row: Any) -> DrawView:
    return DrawView(id=row.id, status=row.status, created_at=row.created_at, seed_sha256=row.seed_sha256,
                    seed=row.seed_hex, instance_sha256=row.instance_sha256, result_sha256=row.result_sha256,
                    software=row.software, projects=json.loads(row.public_summary or "{}"))


@router.post("", response_model=DrawView, status_code=201)
def create_draw(body: DrawRequest, session: SessionDep) -> DrawView:
    """Commit a seed, draw the projects, store the committee sealed; returns the sealed view."""
    return _view(service.draw(session, project_codes=body.project_codes, seed_hex=body.seed, actor="api"))


@router.get("/{draw_id}", response_model=DrawView)
def read_draw(draw_id: int, session: SessionDep) -> DrawView:
    """The sealed view of a draw: hashes and seat counts per site only."""
    row = service.get_draw(session, draw_id=draw_id)
    if row is None:
        raise HTTPException(status_code=404, detail="draw not found")
    return _view(row)


@router.post("/{draw_id}/reveal")
def reveal_draw(draw_id: int, session: SessionDep) -> dict[str, Any]:
    """Unseal the committee once the evaluation has started (403 before)."""
    return service.reveal(session, draw_id=draw_id, now=datetime.now(UTC), actor="api")


@router.post("/{draw_id}/replacements")
def replace_expert(draw_id: int, body: ReplaceRequest, session: SessionDep) -> dict[str, Any]:
    """Replace an expert who declined, failed check-in or stepped aside; returns the record."""
    record = service.replace(session, draw_id=draw_id, project_code=body.project_code,
                             expert_code=body.expert_code, reason=body.reason, now=datetime.now(UTC), actor="api")
    # The record names experts: before the start only its shape is returned (D5).
    return {k: v for k, v in record.items() if k not in ("replaced", "replacement")}
