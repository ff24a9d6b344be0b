"""Re-planning after a site or room closure: move the affected seats, else replace them (S1–S4, R1).

Only the seats at the closed site/room change; the others stay exactly as they were. A project is
either re-planned completely and legally or left untouched and reported with the blocking rule.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlmodel import Session, col, select

import ledger
from experts.models import Expert
from scheduler.draw import parse_seed, resolve_rules
from scheduler.encoder import IdMaps, encode
from scheduler.export import export_instance
from scheduler.instance import canonical_bytes, parse_instance, sha256_hex
from scheduler.models import (
    Draw,
    DrawProject,
    Project,
    ProjectAuxSite,
    ProjectExclusion,
    Replacement,
    Seat,
)
from scheduler.replace import _state  # the day's taken seats and rooms, as replacement sees them
from scheduler.sealing import draw_aad, replacement_aad, seal_text, seat_aad, unseal_text
from scheduler.service import deployment_rules
from scheduler.solver.context import SiteContext, build
from scheduler.solver.dayplan import rng_for
from scheduler.solver.eligibility import familiar_pairs, individual
from scheduler.solver.problem import Problem
from scheduler.solver.sampler import legal_rows
from scheduler.solver.seating import pick_room, site_free
from venues.models import Room, Site

logger = logging.getLogger(__name__)


class ReplanInputError(ValueError):
    """Bad closure input; `field` names it (answered 422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class Plan:
    """New seats of one project, or why it cannot be re-planned."""

    seats: list[dict[str, str]] = field(default_factory=list)
    aux_sites: list[str] | None = None
    moved: int = 0
    replaced: list[tuple[dict[str, str], dict[str, str], str]] = field(default_factory=list)
    blocked: dict[str, Any] | None = None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def current_draw(session: Session, *, project_id: int) -> Draw | None:
    """The latest draw holding a drawn committee of this project, or None."""
    stmt = (select(Draw).join(DrawProject, col(DrawProject.draw_id) == col(Draw.id))
            .where(DrawProject.project_id == project_id, DrawProject.status == "drawn",
                   col(Draw.sealed_result).is_not(None)).order_by(col(Draw.id).desc()))
    return session.exec(stmt).first()


def sealed_result(draw: Draw) -> dict[str, Any]:
    """The unsealed draw-result/1 of a draw (server-side only: it names experts)."""
    assert draw.id is not None and draw.sealed_result is not None
    return json.loads(unseal_text(draw.sealed_result, aad=draw_aad(draw.id)))


def _blocked(need: str, seats: int, rules: list[str], advice: str) -> Plan:
    return Plan(blocked={"need": need, "seats": seats, "rules": rules, "advice": advice})


def plan_project(problem: Problem, ids: IdMaps, result: dict[str, Any], code: str, *, site: str,
                 room: str | None, window: tuple[int, int]) -> Plan | None:
    """The re-plan of one project for the closure, None when none of its seats is affected."""
    proj = next(q for q in result["projects"] if q["project"] == code)
    seats = proj["seats"]
    affected = [s for s in seats if s["site"] == site and (room is None or s["room"] == room)]
    if not affected:
        return None
    p = problem.projects[ids.projects.index(code)]
    sidx = {s: i for i, s in enumerate(ids.sites)}
    ridx = {r: i for i, r in enumerate(ids.rooms)}
    eidx = {e: i for i, e in enumerate(ids.experts)}
    is_main = sidx[site] == p.main_site
    busy, usage = _state(problem, ids, result, code)
    closed = [ridx[room]] if room else list(problem.sites.rooms[sidx[site]])
    for r in closed:  # a closed room has no seat free during the window (S4)
        usage.add(r, int(problem.rooms.seats[r]) + 10_000, *window)
    aux_now = list(proj["aux_sites"] or [])
    if room is not None:
        free = site_free(problem, usage, sidx[site], p.start, p.end)
        other = pick_room(free, len(affected) + (p.reps if is_main else 0))
        if other is not None:
            moved = [{**s, "room": ids.rooms[other]} for s in affected]
            return Plan(seats=[s for s in seats if s not in affected] + moved, aux_sites=aux_now, moved=len(moved))
    if is_main:
        need = ",".join(sorted({s["need"] for s in affected}))
        return _blocked(need, len(affected), ["S1", "S2"] if room is None else ["S1", "S4"],
                        "the main site holds the tenderer representatives and cannot be left: postpone the "
                        "evaluation, or cancel the project and create it with another main site, then draw again")
    aux_new = [a for a in aux_now if a != site]
    # With every seat of the closed site gone the site leaves the project; a room closure that left
    # seats behind would split the site over rooms (S1), so the whole site's group moves.
    affected = [s for s in seats if s["site"] == site]
    kept = [s for s in seats if s["site"] != site]
    sites = (p.main_site, *[sidx[a] for a in aux_new])
    elig = individual(problem, p, busy)
    ctx = build(problem, p, sites, elig, usage, familiar_pairs(problem, p.start, {}))
    counts = Counter(sidx[s["site"]] for s in kept)
    rooms = {sidx[s["site"]]: ridx[s["room"]] for s in kept}
    placed: list[dict[str, str]] = []
    left: list[dict[str, str]] = []
    for s in affected:
        where = _place(ctx, counts, rooms, eidx[s["expert"]])
        if where is None:
            left.append(s)
        else:
            placed.append({**s, "site": ids.sites[where[0]], "room": ids.rooms[where[1]]})
    members = {s["expert"] for s in seats}
    replaced: list[tuple[dict[str, str], dict[str, str], str]] = []
    rng = rng_for(parse_seed(result["seed"]), f"replan:{code}:{site}:{room}")
    for s in left:
        found = _replacement(ctx, ids, proj, kept + placed + [r[1] for r in replaced], s, members, counts, rooms,
                             rng, result)
        if found is None:
            return _blocked(s["need"], len(left), ["S2", "S3", "S4"],
                            "no other site of the project can seat these experts and no legal replacement "
                            "exists: widen max_travel_km, free seats in the project's other rooms, or postpone")
        replaced.append((s, found[0], found[1]))
        members.add(found[0]["expert"])
    final = kept + placed + [r[1] for r in replaced]
    order = [nd.code for nd in p.needs]
    row = np.array([eidx[s["expert"]] for s in sorted(final, key=lambda x: order.index(x["need"]))], np.int64)
    low_ok = all(counts[ctx.sites[i]] >= lo for i, lo in enumerate(ctx.lower))
    if not low_ok or not legal_rows(ctx, row[None, :])[0]:
        need = ",".join(sorted({s["need"] for s in affected}))
        return _blocked(need, len(affected), ["S2"] if not low_ok else ["P1", "P2", "S2", "S6"],
                        "without the closed site the committee cannot be split legally over the remaining "
                        "sites: add an auxiliary site and redraw, or postpone the evaluation")
    return Plan(seats=final, aux_sites=aux_new, moved=len(placed), replaced=replaced)


def _place(ctx: SiteContext, counts: Counter[int], rooms: dict[int, int], a: int) -> tuple[int, int] | None:
    """A (site, room) where expert `a` can sit next to the seats counted so far (S1–S4); updates counts."""
    p = ctx.project
    # Auxiliary sites first: the main site has an upper bound (S2) and holds the representatives.
    for i in [*range(1, len(ctx.sites)), 0]:
        site = ctx.sites[i]
        if not ctx.reach[a] >> i & 1 or counts[site] + 1 > ctx.upper[i]:
            continue
        reps = p.reps if i == 0 else 0
        if site in rooms:
            if ctx.room_free[i][rooms[site]] < counts[site] + 1 + reps:
                continue
            room = rooms[site]
        else:
            found = pick_room(ctx.room_free[i], counts[site] + 1 + reps)
            if found is None:
                continue
            room = found
        counts[site] += 1
        rooms[site] = room
        return site, room
    return None


def _replacement(ctx: SiteContext, ids: IdMaps, proj: dict[str, Any], others: list[dict[str, str]],
                 leaving: dict[str, str], members: set[str], counts: Counter[int], rooms: dict[int, int],
                 rng: np.random.Generator, result: dict[str, Any]) -> tuple[dict[str, str], str] | None:
    """R1 for a seat that cannot move: first legal alternate, else a fresh uniform pick of its need's pool."""
    p = ctx.project
    eidx = {e: i for i, e in enumerate(ids.experts)}
    order = [nd.code for nd in p.needs]
    pos = order.index(leaving["need"])
    pool = ctx.pools[pos]
    alts = next((a["experts"] for a in proj["alternates"] if a["need"] == leaving["need"]), [])
    reserved = {x for q in result["projects"] if q["project"] != proj["project"] and q["status"] == "drawn"
                for alt in q["alternates"] for x in alt["experts"]}
    pool_set = set(pool.tolist())
    base = sorted(others, key=lambda x: order.index(x["need"]))
    for source, cands in (("alternate", [eidx[a] for a in alts]), ("fresh", pool[rng.permutation(pool.size)].tolist())):
        for a in cands:
            code = ids.experts[a]
            if code in members or code in reserved or a not in pool_set:
                continue
            row = np.array([eidx[s["expert"]] for s in base] + [a], np.int64)
            if not legal_rows(ctx, row[None, :])[0]:
                continue
            trial = Counter(counts)
            trial_rooms = dict(rooms)
            where = _place(ctx, trial, trial_rooms, a)
            if where is None:
                continue
            counts.update({where[0]: 1})
            rooms[where[0]] = where[1]
            return {"expert": code, "need": leaving["need"], "site": ids.sites[where[0]],
                    "room": ids.rooms[where[1]]}, source
    return None


def _expert_ref(seed: str, expert: str) -> str:
    # The same seed-salted reference as draw.replace entries: checkable only after the reveal (D5).
    return hashlib.sha256(f"{seed}:{expert}".encode()).hexdigest()


def apply_plan(session: Session, *, draw: Draw, project: Project, result: dict[str, Any], plan: Plan,
               now: datetime, actor: str) -> dict[str, Any]:
    """Store a plan: sealed seats, replacements, auxiliary sites, the sealed result and summary; flushes."""
    assert draw.id is not None and project.id is not None
    code = project.code
    new = copy.deepcopy(result)
    q = next(x for x in new["projects"] if x["project"] == code)
    old_seats = {s["expert"]: s for s in q["seats"]}
    new_seats = {s["expert"]: s for s in plan.seats}
    changed = {e for e, s in old_seats.items() if new_seats.get(e) != s}
    room_code = dict(session.exec(select(Room.id, Room.code)).all())
    site_id = {c: i for c, i in session.exec(select(Site.code, Site.id)).all()}
    room_id = {c: i for i, c in room_code.items()}
    for seat in session.exec(select(Seat).where(Seat.draw_id == draw.id, Seat.project_id == project.id)).all():
        holder = unseal_text(seat.expert_sealed, aad=seat_aad(draw.id, code, seat.need, room_code[seat.room_id]))
        if holder in changed:
            session.delete(seat)
    for e, s in new_seats.items():
        if e in old_seats and old_seats[e] == s:
            continue
        session.add(Seat(draw_id=draw.id, project_id=project.id, need=s["need"], site_id=site_id[s["site"]],
                         room_id=room_id[s["room"]],
                         expert_sealed=seal_text(e, aad=seat_aad(draw.id, code, s["need"], s["room"]))))
    experts = {c: i for c, i in session.exec(select(Expert.code, Expert.id).where(
        col(Expert.code).in_([r[0]["expert"] for r in plan.replaced]))).all()}
    used = {r[1]["expert"] for r in plan.replaced}
    for gone, seat, source in plan.replaced:
        session.add(ProjectExclusion(project_id=project.id, expert_id=experts[gone["expert"]], reason="site_closed",
                                     at=now))
        session.add(Replacement(
            project_id=project.id, draw_id=draw.id, need=seat["need"], reason="site_closed", at=now,
            replaced_expert_sealed=seal_text(gone["expert"], aad=replacement_aad(code, seat["need"], "replaced", now)),
            new_expert_sealed=seal_text(seat["expert"], aad=replacement_aad(code, seat["need"], "new", now))))
        q["replaced"] = [*q.get("replaced", []), gone["expert"]]
        q.setdefault("replacements", []).append(
            {"project": code, "need": seat["need"], "replaced": gone["expert"], "replacement": seat["expert"],
             "source": source, "reason": "site_closed", "site": seat["site"], "room": seat["room"]})
    for alt in q["alternates"]:
        alt["experts"] = [x for x in alt["experts"] if x not in used]
    q["seats"] = plan.seats
    main_code = next(c for c, i in site_id.items() if i == project.main_site_id)
    main_rooms = {s["room"] for s in plan.seats if s["site"] == main_code}
    if q.get("representatives_room") and main_rooms and q["representatives_room"] not in main_rooms:
        q["representatives_room"] = sorted(main_rooms)[0]
    if plan.aux_sites is not None and plan.aux_sites != q["aux_sites"]:
        q["aux_sites"] = plan.aux_sites
        _fix_aux_sites(session, project=project, aux_codes=plan.aux_sites, site_id=site_id)
    per_site = dict(sorted(Counter(s["site"] for s in plan.seats).items()))
    dp = session.exec(select(DrawProject).where(DrawProject.draw_id == draw.id,
                                                DrawProject.project_id == project.id)).one()
    dp.aux_sites, dp.seat_counts = q["aux_sites"], per_site
    session.add(dp)
    summary = json.loads(draw.public_summary or "{}")
    summary.setdefault(code, {})["seats_per_site"] = per_site
    draw.public_summary = json.dumps(summary, ensure_ascii=False, sort_keys=True)
    text = canonical_bytes(new).decode("utf-8")
    draw.sealed_result = seal_text(text, aad=draw_aad(draw.id))
    session.add(draw)
    session.flush()
    ledger.append(session, kind="draw.replan", subject=f"project:{code}", actor=actor, ts=now,
                  payload={"draw": draw.id, "moved": plan.moved, "replaced": len(plan.replaced),
                           "seats_per_site": per_site, "aux_sites": q["aux_sites"],
                           "replaced_refs": [_expert_ref(result["seed"], r[0]["expert"]) for r in plan.replaced],
                           "replacement_refs": [_expert_ref(result["seed"], r[1]["expert"]) for r in plan.replaced],
                           "result_sha256": sha256_hex(text.encode("utf-8"))})
    return new


def _fix_aux_sites(session: Session, *, project: Project, aux_codes: list[str], site_id: dict[str, int]) -> None:
    # The project's sites are now fixed by the re-plan: the export must name the same ones (S1).
    assert project.id is not None
    for row in session.exec(select(ProjectAuxSite).where(ProjectAuxSite.project_id == project.id)).all():
        session.delete(row)
    session.flush()
    session.add_all([ProjectAuxSite(project_id=project.id, site_id=site_id[c], position=i)
                     for i, c in enumerate(aux_codes)])
    project.aux_mode = "fixed"
    session.add(project)


def replan_closure(session: Session, *, site_code: str, room_code: str | None, start: datetime, end: datetime,
                   now: datetime, scope: Any = None, actor: str = "system") -> dict[str, Any]:
    """Re-plan every drawn, unfinished project overlapping the closure; returns the report; flushes."""
    if end <= start:
        raise ReplanInputError("end", "end must be after start")
    site = session.exec(select(Site).where(Site.code == site_code)).first()
    if site is None:
        raise ReplanInputError("site_code", f"unknown site {site_code!r}")
    if room_code is not None:
        room = session.exec(select(Room).where(Room.code == room_code)).first()
        if room is None or room.site_id != site.id:
            raise ReplanInputError("room_code", f"room {room_code!r} is not a room of site {site_code}")
    conds: list[Any] = [col(Project.status).in_(("drawn", "evaluating")), col(Project.start) < end,
                        col(Project.end) > start, col(Project.end) > now]
    if scope is not None:
        conds.append(scope)
    report: dict[str, Any] = {"site_code": site_code, "room_code": room_code, "start": start.isoformat(),
                              "end": end.isoformat(), "replanned": [], "blocked": [], "unaffected": 0}
    window = (int(_aware(start).timestamp()), int(_aware(end).timestamp()))
    for project in session.exec(select(Project).where(*conds).order_by(col(Project.start), col(Project.code))).all():
        assert project.id is not None
        draw = current_draw(session, project_id=project.id)
        if draw is None:
            continue
        result = sealed_result(draw)
        codes = [q["project"] for q in result["projects"]]
        doc = export_instance(session, project_codes=codes, rules=deployment_rules().as_json(), with_drawn=True)
        inst = parse_instance(doc)
        problem, ids = encode(inst, resolve_rules(inst, deployment_rules()))
        plan = plan_project(problem, ids, result, project.code, site=site_code, room=room_code, window=window)
        if plan is None:
            report["unaffected"] += 1
        elif plan.blocked is not None:
            report["blocked"].append({"project": project.code, **plan.blocked})
        else:
            apply_plan(session, draw=draw, project=project, result=result, plan=plan, now=now, actor=actor)
            report["replanned"].append({"project": project.code, "moved": plan.moved,
                                        "replaced": len(plan.replaced), "aux_sites": plan.aux_sites,
                                        "seats_per_site": dict(sorted(Counter(s["site"] for s in plan.seats)
                                                                      .items()))})
    ledger.append(session, kind="draw.replan_report", subject=f"site:{site_code}", actor=actor, ts=now,
                  payload={k: report[k] for k in ("room_code", "start", "end", "unaffected")}
                  | {"replanned": [r["project"] for r in report["replanned"]],
                     "blocked": [{k: b[k] for k in ("project", "need", "seats", "rules")} for b in report["blocked"]]})
    logger.info("closure of %s: %d projects re-planned, %d blocked", site_code, len(report["replanned"]),
                len(report["blocked"]))
    return report
