"""Bid opening (开标): store the bidders, then replace every drawn expert they now conflict with (E3, E4, R1)."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import numpy as np
from sqlmodel import Session, select

import ledger
from config.clock import as_aware
from evaluation import replacements, service
from evaluation.commitments import current_draw, draw_result
from evaluation.models import Draw, Project, ProjectBidder
from evaluation.project_refs import ProjectStateError, org_ids, require_project
from scheduler.exceptions import ReplacementError
from scheduler.solver.eligibility import individual
from scheduler.solver.problem import Intervals

logger = logging.getLogger(__name__)


def open_bids(session: Session, *, code: str, bidder_codes: list[str], now: datetime,
              actor: str = "system") -> dict[str, Any]:
    """Store the bidders at bid opening, then replace every drawn expert they conflict with (E3, E4, R1)."""
    project = require_project(session, code=code)
    if project.status in ("cancelled", "done"):
        raise ProjectStateError("status", f"project {code} is {project.status}: its bidders cannot change")
    orgs = org_ids(session, bidder_codes, "bidder_codes")
    assert project.id is not None
    # Held until the commit below, so two bid openings at once cannot both pass the check (PostgreSQL;
    # SQLite has one writer anyway).
    session.exec(select(Project.id).where(Project.id == project.id).with_for_update()).first()
    draw = current_draw(session, project_id=project.id)
    started = now >= as_aware(project.start)
    if draw is not None and not started:
        _once_before_start(session, code=code, draw_id=draw.id)
    for row in session.exec(select(ProjectBidder).where(ProjectBidder.project_id == project.id)).all():
        session.delete(row)
    session.flush()
    session.add_all([ProjectBidder(project_id=project.id, org_id=o) for o in orgs])
    session.flush()
    report: dict[str, Any] = {"project": code, "bidders": len(orgs), "draw_id": None, "conflicted": 0,
                              "replaced": 0, "per_site": {}, "unresolved": []}
    conflicted = _conflicted(session, draw, code) if draw is not None else []
    ledger.append(session, kind="project.bidders", subject=f"project:{code}", actor=actor, ts=now,
                  payload={"bidders": len(orgs), "conflicted": len(conflicted), "rechecked": draw is not None,
                           "sealed": not started})
    # service.replace commits: the bidder list is committed before the first replacement.
    session.commit()
    named: list[dict[str, str]] = []
    for seat in conflicted:
        assert draw is not None and draw.id is not None
        report["draw_id"] = draw.id
        site = report["per_site"].setdefault(seat["site"], {"conflicted": 0, "replaced": 0})
        site["conflicted"] += 1
        report["conflicted"] += 1
        try:
            record = replacements.replace(session, draw_id=draw.id, project_code=code, expert_code=seat["expert"],
                                     reason="conflict", now=now, actor=actor)
        except ReplacementError as exc:
            session.rollback()
            report["unresolved"].append({"need": seat["need"], "site": seat["site"], "advice": str(exc)
                                         if started else "no legal replacement: widen the pool and redraw"})
            continue
        site["replaced"] += 1
        report["replaced"] += 1
        named.append({k: record[k] for k in ("need", "replaced", "replacement", "site")})
    if started:  # after the start the committee is no longer sealed (D5)
        report["replacements"] = named
    logger.info("bid opening of %s: %d conflicted, %d replaced", code, report["conflicted"], report["replaced"])
    return report


def _once_before_start(session: Session, *, code: str, draw_id: int | None) -> None:
    """Refuse a second re-check of a sealed committee: repeated made-up bidder lists would probe it (D5).

    The bid opening enters the bidders once; each answer tells how many members conflicted, so a list
    changed again and again before the start would ask, one organisation at a time, who sits on the
    committee. Corrections open at the start, when the committee is unsealed anyway.
    """
    # Only entries after this draw's result count: bidders entered before the draw were not a re-check.
    drawn = ledger.entries(session, kind_prefix="draw.result", subject=f"draw:{draw_id}", limit=1)
    after = drawn[0].seq if drawn else 0
    for entry in ledger.entries(session, kind_prefix="project.bidders", subject=f"project:{code}", limit=1000,
                                after_seq=after):
        if json.loads(entry.payload).get("sealed", True):
            raise ProjectStateError("bidder_codes", (
                f"the bidders of {code} were entered at {entry.ts.isoformat()} by {entry.actor} and the sealed "
                "committee re-checked; before the start (D5) the list can be entered once. Corrections open at "
                "the start, when the committee is unsealed"))


def _conflicted(session: Session, draw: Draw, code: str) -> list[dict[str, str]]:
    """Seats of `code` whose expert now fails E3 or E4, computed by the draw's own eligibility code."""
    result = draw_result(draw)
    proj = next(q for q in result["projects"] if q["project"] == code)
    problem, ids = service.encoded_instance(session, project_codes=[q["project"] for q in result["projects"]],
                                            with_drawn=False)
    none = np.zeros(0, np.int64)
    elig = individual(problem, problem.projects[ids.projects.index(code)], Intervals(none, none, none))
    bad = elig.fails["E3"] | elig.fails["E4"]
    eidx = {e: i for i, e in enumerate(ids.experts)}
    return [s for s in proj["seats"] if bad[eidx[s["expert"]]]]
