"""Draws for projects in the database: commit the seed, solve, seal, reveal, replace (D3, D5, R1, R2)."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col, select

import ledger
from config import clock
from config.clock import as_aware
from config.rules import RuleParams, load_rules
from config.sealing import draw_aad, seal_text, seat_aad, seed_aad, unseal_text
from config.settings import get_settings
from evaluation.commitments import draw_result
from evaluation.export import UnknownProjectError, export_instance
from evaluation.models import Draw, DrawProject, Project, Seat
from evaluation.witnessing import checkpoint_commitment, seed_hold
from scheduler.draw import draw_parsed, resolve_rules, seed_commitment, software
from scheduler.encoder import IdMaps, encode
from scheduler.instance import canonical_bytes, parse_instance, sha256_hex
from scheduler.solver.problem import Problem
from venues.models import Room, Site

logger = logging.getLogger(__name__)


class DrawNotFound(LookupError):
    """No draw with that id."""


class DrawStateError(ValueError):
    """The draw is not in a state that allows this step (e.g. running a draw twice)."""


class DrawTooLate(DrawStateError):
    """A project of the draw starts too soon (or has started): it can no longer be drawn."""

    field = "project_codes"


class StillSealed(PermissionError):
    """The committee stays sealed until the evaluation starts (D5)."""


def deployment_rules() -> RuleParams:
    """The jurisdiction's rule parameters (defaults overridden by YIDI_RULES_FILE)."""
    return load_rules(get_settings().rules_file)


def seats_per_site(seats: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Head counts of seats per site code, sorted by code: public before the start (D5)."""
    return dict(sorted(Counter(s["site"] for s in seats).items()))


def encoded_instance(session: Session, *, project_codes: list[str], with_drawn: bool) -> tuple[Problem, IdMaps]:
    """The projects' instance exported now under the deployment rules, encoded for the solver."""
    rules = deployment_rules()
    doc = export_instance(session, project_codes=project_codes, rules=rules.as_json(), with_drawn=with_drawn)
    inst = parse_instance(doc)
    return encode(inst, resolve_rules(inst, rules))


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    # Only what D5 allows before the start: status and head counts per site, never a name.
    return {
        p["project"]: {
            "status": p["status"],
            "sampling": p["sampling"],
            "seats_per_site": seats_per_site(p["seats"]),
            # The warnings name needs and counts, never an expert: predictability is public (D5).
            "warnings": list(p["warnings"]),
            "unmet": [{k: u[k] for k in ("need", "missing", "eligible", "rules", "advice")} for u in p["unmet"]],
        }
        for p in result["projects"]
    }


def _store_seats(session: Session, draw: Draw, result: dict[str, Any], projects: dict[str, Project]) -> None:
    site_id: dict[str, int] = {c: i for c, i in session.exec(select(Site.code, Site.id)).all() if i is not None}
    room_id: dict[str, int] = {c: i for c, i in session.exec(
        select(Room.code, Room.id).where(Room.purpose == "evaluation")).all() if i is not None}
    opening = sorted({s["room"] for p in result["projects"] for s in p["seats"]} - set(room_id))
    if opening:
        # The room became a bid-opening room while the draw ran; it is never a committee's room.
        raise DrawStateError(f"room(s) {', '.join(opening)} are no longer evaluation rooms: draw again")
    assert draw.id is not None
    for p in result["projects"]:
        proj = projects[p["project"]]
        assert proj.id is not None
        session.add(DrawProject(draw_id=draw.id, project_id=proj.id, status=p["status"], sampling=p["sampling"],
                                aux_sites=p["aux_sites"], seat_counts=_summary(result)[p["project"]]["seats_per_site"]))
        for s in p["seats"]:
            session.add(Seat(draw_id=draw.id, project_id=proj.id, need=s["need"], site_id=site_id[s["site"]],
                             room_id=room_id[s["room"]],
                             expert_sealed=seal_text(s["expert"], aad=seat_aad(draw.id, p["project"], s["need"],
                                                                                s["room"]))))
        proj.status = p["status"]
        session.add(proj)


def _ahead(session: Session, codes: list[str], now: datetime | None) -> None:
    """Refuse projects that start too soon to be drawn (`draw_min_lead_minutes`); no check without a clock."""
    if now is None:
        return
    lead = timedelta(minutes=get_settings().draw_min_lead_minutes)
    starts = session.exec(select(Project.code, Project.start).where(col(Project.code).in_(codes))).all()
    late = sorted(c for c, start in starts if as_aware(start) <= now + lead)
    if late:
        # A committee drawn for an evaluation already under way would unseal at once: its report would tell
        # which experts the sealed committees around it hold (D5).
        raise DrawTooLate(f"{', '.join(late)} start(s) too soon to be drawn (within "
                          f"{lead.total_seconds() / 60:.0f} min of now or already started): move the start "
                          "or use replacement for a committee already drawn")


def commit_draw(session: Session, *, project_codes: list[str], seed_hex: str | None = None,
                actor: str = "system", now: datetime | None = None) -> Draw:
    """Step 1 of a draw: pick the seed, publish its commitment (D3) and keep the seed sealed; committed."""
    seed_hex = seed_hex or secrets.token_hex(32)
    codes = list(dict.fromkeys(project_codes))
    busy = session.exec(select(Project.code, Project.status).where(
        col(Project.code).in_(codes), col(Project.status).not_in(("planned", "infeasible")))).all()
    if busy:
        # A committee is drawn once; afterwards seats change only by replacement (R1).
        raise DrawStateError("already drawn or closed, replace experts instead of drawing again: "
                             + ", ".join(f"{c} ({st})" for c, st in sorted(busy)))
    known = set(session.exec(select(Project.code).where(col(Project.code).in_(codes))).all())
    if len(known) != len(codes):
        raise UnknownProjectError(f"unknown project codes: {', '.join(sorted(set(codes) - known))}")
    _ahead(session, codes, now)
    # The instance is exported once, when the draw runs (its hash is recorded with the result): the
    # commitment binds the seed, which is what must be fixed before anything is drawn (D3).
    row = Draw(seed_sha256=seed_commitment(seed_hex), instance_sha256="", software=software(), project_codes=codes)
    if now is not None:
        row.created_at = now  # the service's clock, as every other time it records
    session.add(row)
    session.flush()
    assert row.id is not None
    row.sealed_seed = seal_text(seed_hex, aad=seed_aad(row.id))
    session.add(row)
    ledger.append(session, kind="draw.commit", subject=f"draw:{row.id}", actor=actor,
                  payload={"seed_sha256": row.seed_sha256, "projects": sorted(codes), "software": row.software})
    # The commitment is durable before any solving starts (D3).
    session.commit()
    checkpoint_commitment(session, now=now or clock.now())
    session.refresh(row)
    return row


def run_draw(session: Session, *, draw_id: int, actor: str = "system",
             progress: Callable[[int], None] | None = None, now: datetime | None = None) -> Draw:
    """Step 2 of a draw: solve with the committed seed and store the committee sealed (D5)."""
    row = session.get(Draw, draw_id)
    if row is None:
        raise DrawNotFound(draw_id)
    if row.status != "committed" or row.sealed_seed is None:
        raise DrawStateError(f"draw {draw_id} has already been run")
    _ahead(session, list(row.project_codes), now)
    began = time.monotonic()
    seed_hex = unseal_text(row.sealed_seed, aad=seed_aad(draw_id))
    codes = list(row.project_codes)
    # The database may have changed since the commitment (a booking, a leave): the instance actually
    # drawn is exported now and its hash recorded with the result, so a replay uses the right one.
    doc = export_instance(session, project_codes=codes, rules=deployment_rules().as_json(), with_drawn=True)
    inst = parse_instance(doc)
    result = draw_parsed(doc, inst, seed_hex, base_rules=deployment_rules(), progress=progress)
    text = canonical_bytes(result).decode("utf-8")
    if now is not None:  # a long day plan may have solved past a start: such a committee would unseal at once
        _ahead(session, codes, now + timedelta(seconds=time.monotonic() - began))
    _claim(session, draw_id=draw_id, codes=codes)
    row.instance_sha256 = result["instance_sha256"]  # draw_parsed hashed this very document
    row.sealed_result = seal_text(text, aad=draw_aad(draw_id))
    row.sealed_seed = None
    row.result_sha256 = sha256_hex(text.encode("utf-8"))
    row.status = "drawn"
    row.public_summary = json.dumps(_summary(result), ensure_ascii=False, sort_keys=True)
    projects = {p.code: p for p in session.exec(select(Project).where(col(Project.code).in_(codes)))}
    _store_seats(session, row, result, projects)
    session.add(row)
    ledger.append(session, kind="draw.result", subject=f"draw:{row.id}", actor=actor,
                  payload={"result_sha256": row.result_sha256, "instance_sha256": row.instance_sha256,
                           "summary": _summary(result)})
    session.commit()
    session.refresh(row)
    logger.info("draw %s: %d projects drawn", row.id, sum(p["status"] == "drawn" for p in result["projects"]))
    return row


def _claim(session: Session, *, draw_id: int, codes: list[str]) -> None:
    """Take the draw and its projects for this run, or raise DrawStateError when another run has.

    Conditional updates, not the status read at the start: two runs of one draw (a double click), or
    two committed draws of one project, may solve at the same time, and only one may store seats.
    """
    took_draw = cast(CursorResult[Any], session.execute(
        update(Draw).where(col(Draw.id) == draw_id, col(Draw.status) == "committed").values(status="drawn"))).rowcount
    took_projects = cast(CursorResult[Any], session.execute(
        update(Project).where(col(Project.code).in_(codes), col(Project.status).in_(("planned", "infeasible")))
        .values(status="committed"))).rowcount
    if took_draw != 1 or took_projects != len(codes):
        session.rollback()
        raise DrawStateError(f"draw {draw_id} or one of its projects was drawn meanwhile; nothing was stored")


def draw(session: Session, *, project_codes: list[str], seed_hex: str | None = None, actor: str = "system",
         now: datetime | None = None) -> Draw:
    """Draw the given projects together as a day plan (commit, then run); the committee is stored sealed."""
    row = commit_draw(session, project_codes=project_codes, seed_hex=seed_hex, actor=actor, now=now)
    assert row.id is not None
    return run_draw(session, draw_id=row.id, actor=actor, now=now)


def get_draw(session: Session, *, draw_id: int) -> Draw | None:
    """The draw row, or None."""
    return session.get(Draw, draw_id)


def _starts(session: Session, result: dict[str, Any]) -> dict[str, datetime]:
    codes = [p["project"] for p in result["projects"]]
    return {p.code: as_aware(p.start) for p in session.exec(select(Project).where(col(Project.code).in_(codes)))}


def unsealed_projects(session: Session, *, draw_id: int) -> set[str]:
    """The codes of the draw's projects whose committees have been unsealed (from the ledger's reveals)."""
    out: set[str] = set()
    for entry in ledger.entries(session, kind_prefix="draw.reveal", subject=f"draw:{draw_id}", limit=1000):
        payload = json.loads(entry.payload)
        if "projects" in payload:
            out |= set(payload["projects"])
        else:  # a reveal of the first release unsealed the whole draw at once
            row = session.get(Draw, draw_id)
            out |= set(row.project_codes if row else [])
    return out


def _shown(result: dict[str, Any], codes: set[str], with_seed: bool) -> dict[str, Any]:
    """The result restricted to `codes`; the seed only once every project of the draw has started."""
    return {**result, "seed": result["seed"] if with_seed else None,
            "projects": [p for p in result["projects"] if p["project"] in codes]}


def reveal(session: Session, *, draw_id: int, now: datetime, actor: str = "system") -> dict[str, Any]:
    """Unseal the committees of the draw's projects that have started; returns only those (D5).

    Each project opens at its own start, so a day plan's afternoon committees stay sealed in the
    morning. The seed, which would let anyone replay the whole day, is published (ledger and
    `Draw.seed_hex`) only once the last project has started (D3).
    """
    row = session.get(Draw, draw_id)
    if row is None or row.sealed_result is None:
        raise DrawNotFound(draw_id)
    result = draw_result(row)
    starts = _starts(session, result)
    started = {code for code, start in starts.items() if start <= now}
    if not started:
        first = min(starts.values(), default=now)
        raise StillSealed(f"draw {draw_id} stays sealed until {first.isoformat()} (D5)")
    complete = started == set(starts)
    hold = seed_hold(session, draw_id=draw_id, now=now) if complete and row.status != "revealed" else None
    if hold:
        logger.warning("seed of draw %s held back: %s", draw_id, hold)
        complete = False
    new = sorted(started - unsealed_projects(session, draw_id=draw_id))
    if new or (complete and row.status != "revealed"):
        payload: dict[str, Any] = {"projects": new}
        if complete:
            row.seed_hex = result["seed"]
            row.status = "revealed"
            session.add(row)
            payload.update(seed=result["seed"], seed_sha256=row.seed_sha256)
        ledger.append(session, kind="draw.reveal", subject=f"draw:{draw_id}", actor=actor, payload=payload)
        session.commit()
    shown = _shown(result, started, complete)
    return {**shown, "seed_held": hold} if hold else shown


def opened(session: Session, *, draw_id: int, now: datetime) -> dict[str, Any] | None:
    """What has been unsealed of a draw and may be shown now (no ledger write); None when nothing."""
    row = session.get(Draw, draw_id)
    if row is None or row.sealed_result is None:
        return None
    result = draw_result(row)
    starts = _starts(session, result)
    codes = {c for c in unsealed_projects(session, draw_id=draw_id) if c in starts and starts[c] <= now}
    if not codes:
        return None
    return _shown(result, codes, row.status == "revealed")
