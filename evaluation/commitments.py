"""Committees already drawn for other projects, as a later draw must see them.

A project drawn on its own after another one of the same days must not take the same experts at
the same time (E8), must count them towards E6, E7 and P2, and must not overfill the rooms they
occupy (S4). The export therefore adds every other drawn committee whose project falls in the
plan's windows to `history` (members, tenderer, times) and its room use (experts plus, in the main
site's room, the tenderer representatives) to `room_bookings`. The members come from the sealed
results (server-side only), so such an export names sealed committees: it is for the draw service,
and `yidi export --with-drawn` says so.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from typing import Any

from sqlmodel import Session, col, select

from config.sealing import draw_aad, unseal_text
from evaluation.models import HOLDING, Draw, DrawProject, Project


def draw_result(row: Draw) -> dict[str, Any]:
    """The unsealed draw-result/1 of a draw (server-side only: it names experts)."""
    assert row.id is not None and row.sealed_result is not None
    return dict(json.loads(unseal_text(row.sealed_result, aad=draw_aad(row.id))))


def current_draw(session: Session, *, project_id: int) -> Draw | None:
    """The latest draw holding a drawn committee of this project, or None."""
    stmt = (select(Draw).join(DrawProject, col(DrawProject.draw_id) == col(Draw.id))
            .where(DrawProject.project_id == project_id, DrawProject.status == "drawn",
                   col(Draw.sealed_result).is_not(None)).order_by(col(Draw.id).desc()))
    return session.exec(stmt).first()


def drawn_commitments(
    session: Session, *, exclude: set[int], lo: datetime, hi: datetime, tz: timezone,
    org_code: dict[int, str], expert_codes: set[str], skip_codes: set[str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(history entries, room bookings) of the committees drawn for projects starting in [lo, hi)."""
    stmt = (select(Project, DrawProject.draw_id).join(DrawProject, col(DrawProject.project_id) == col(Project.id))
            .where(col(Project.status).in_(HOLDING), col(DrawProject.status) == "drawn",
                   col(Project.start) < hi, col(Project.end) > lo)
            .order_by(col(Project.id), col(DrawProject.draw_id).desc()))
    latest: dict[int, tuple[Project, int]] = {}
    for project, draw_id in session.exec(stmt):
        # A project already recorded as a past committee is counted there, not twice.
        if project.id not in exclude and project.id not in latest and project.code not in skip_codes:
            latest[project.id] = (project, draw_id)  # type: ignore[index]
    results: dict[int, dict[str, Any]] = {}
    history: list[dict[str, Any]] = []
    room_bookings: list[dict[str, Any]] = []
    for project, draw_id in latest.values():
        if draw_id not in results:
            row = session.get(Draw, draw_id)
            if row is None or row.sealed_result is None:
                continue
            results[draw_id] = {p["project"]: p for p in draw_result(row)["projects"]}
        entry = results[draw_id].get(project.code)
        if entry is None or entry["status"] != "drawn":
            continue
        start, end = project.start.astimezone(tz).isoformat(), project.end.astimezone(tz).isoformat()
        history.append({"project": project.code, "tenderer": org_code.get(project.tenderer_id), "start": start,
                        "end": end, "experts": sorted(s["expert"] for s in entry["seats"]
                                                      if s["expert"] in expert_codes)})
        use = Counter(s["room"] for s in entry["seats"])
        if entry.get("representatives_room") and project.representatives:
            use[entry["representatives_room"]] += project.representatives
        room_bookings += [{"room": room, "seats": n, "start": start, "end": end} for room, n in sorted(use.items())]
    return history, room_bookings
