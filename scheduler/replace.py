"""Replacement of one seat (R1): first still-legal alternate, else a fresh draw for that seat."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from config.rules import RuleParams
from scheduler.draw import parse_seed, resolve_rules
from scheduler.encoder import IdMaps, encode
from scheduler.exceptions import ReplacementError
from scheduler.instance import parse_instance
from scheduler.solver.context import SiteContext, build
from scheduler.solver.dayplan import rng_for
from scheduler.solver.eligibility import familiar_pairs, individual
from scheduler.solver.problem import Intervals, Problem
from scheduler.solver.sampler import legal_rows
from scheduler.solver.seating import RoomUsage, pick_room

REASONS = ("declined", "failed_check_in", "stepped_aside", "conflict", "site_closed")


def drawn_usage(problem: Problem, ids: IdMaps, result: dict[str, Any], skip: str) -> tuple[Intervals, RoomUsage]:
    """The experts' busy times and the rooms' seat use of the result's drawn projects, all but `skip`."""
    eidx = {e: i for i, e in enumerate(ids.experts)}
    ridx = {r: i for i, r in enumerate(ids.rooms)}
    pidx = {p: i for i, p in enumerate(ids.projects)}
    usage = RoomUsage.from_problem(problem)
    ex, st, en = [], [], []
    for proj in result["projects"]:
        if proj["project"] == skip or proj["status"] != "drawn":
            continue
        q = problem.projects[pidx[proj["project"]]]
        per_room: dict[int, int] = {}
        for seat in proj["seats"]:
            ex.append(eidx[seat["expert"]])
            per_room[ridx[seat["room"]]] = per_room.get(ridx[seat["room"]], 0) + 1
        if q.reps:
            main_rooms = {ridx[s["room"]] for s in proj["seats"] if s["site"] == ids.sites[q.main_site]}
            if proj.get("representatives_room"):
                main_rooms = {ridx[proj["representatives_room"]]}
            for r in main_rooms:
                per_room[r] = per_room.get(r, 0) + q.reps
        for r, seats in per_room.items():
            usage.add(r, seats, q.start, q.end)
        st.extend([q.start] * len(proj["seats"]))
        en.extend([q.end] * len(proj["seats"]))
    return Intervals(np.array(ex, np.int64), np.array(st, np.int64), np.array(en, np.int64)), usage


def _placement(ctx: SiteContext, seats: list[dict[str, Any]], ids: IdMaps, leaving: dict[str, Any],
               a: int) -> tuple[int, int] | None:
    """(site, room) where `a` can sit with every other seat unchanged, or None."""
    p = ctx.project
    sidx = {s: i for i, s in enumerate(ids.sites)}
    ridx = {r: i for i, r in enumerate(ids.rooms)}
    counts = [sum(1 for s in seats if sidx[s["site"]] == site) for site in ctx.sites]
    rooms = {sidx[s["site"]]: ridx[s["room"]] for s in seats}
    old = ctx.sites.index(sidx[leaving["site"]])
    order = [old] + [i for i in range(len(ctx.sites)) if i != old]
    for i in order:
        if not ctx.reach[a] >> i & 1:
            continue
        new = list(counts)  # `seats` already lacks the leaving expert
        new[i] += 1
        if any(not lo <= c <= up for lo, c, up in zip(ctx.lower, new, ctx.upper, strict=True)):
            continue
        site = ctx.sites[i]
        reps = p.reps if i == 0 else 0
        if i == old:
            return site, ridx[leaving["room"]]
        if site in rooms:
            if ctx.room_free[i][rooms[site]] >= new[i] + reps:
                return site, rooms[site]
            continue
        room = pick_room(ctx.room_free[i], new[i] + reps)
        if room is not None:
            return site, room
    return None


def replace_seat(
    doc: dict[str, Any],
    result: dict[str, Any],
    *,
    project: str,
    expert: str,
    reason: str,
    base_rules: RuleParams | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Replace `expert` on `project` (R1); returns the new result and the replacement record (R2)."""
    if reason not in REASONS:
        raise ReplacementError(f"reason must be one of {', '.join(REASONS)}")
    proj = next((q for q in result.get("projects", []) if q["project"] == project), None)
    if proj is None or proj["status"] != "drawn":
        raise ReplacementError(f"project {project!r} has no drawn committee in this result")
    leaving = next((s for s in proj["seats"] if s["expert"] == expert), None)
    if leaving is None:
        raise ReplacementError(f"expert {expert!r} holds no seat on project {project!r}")
    # E9: whoever declined, failed check-in or stepped aside is never drawn for this project again.
    doc = copy.deepcopy(doc)
    target = next(q for q in doc["projects"] if q["id"] == project)
    target["excluded_experts"] = sorted({*target.get("excluded_experts", []), expert,
                                         *proj.get("replaced", [])})
    inst = parse_instance(doc)
    problem, ids = encode(inst, resolve_rules(inst, base_rules))
    pi = ids.projects.index(project)
    p = problem.projects[pi]
    eidx = {e: i for i, e in enumerate(ids.experts)}
    busy, usage = drawn_usage(problem, ids, result, project)
    elig = individual(problem, p, busy)
    sites = (p.main_site, *[ids.sites.index(s) for s in proj["aux_sites"]])
    ctx = build(problem, p, sites, elig, usage, familiar_pairs(problem, p.start, {}))
    rest = [s for s in proj["seats"] if s["expert"] != expert]
    need_pos = [nd.code for nd in p.needs].index(leaving["need"])
    ordered = [eidx[s["expert"]] for nd in p.needs for s in rest if s["need"] == nd.code]
    insert_at = sum(nd.count for nd in p.needs[:need_pos]) + sum(1 for s in rest if s["need"] == leaving["need"])
    alts: list[str] = next((a["experts"] for a in proj["alternates"] if a["need"] == leaving["need"]), [])
    taken = {eidx[s["expert"]] for s in rest}
    # Alternates of other projects at overlapping times stay reserved for them (D2, E8).
    buffer_s = problem.rules.travel_buffer_minutes * 60
    pidx = {q: i for i, q in enumerate(ids.projects)}
    reserved = {
        eidx[x]
        for q in result["projects"] if q["project"] != project and q["status"] == "drawn"
        and problem.projects[pidx[q["project"]]].start < p.end + buffer_s
        and problem.projects[pidx[q["project"]]].end > p.start - buffer_s
        for alt in q["alternates"] for x in alt["experts"]
    }
    rng = rng_for(parse_seed(result["seed"]), f"replace:{project}:{expert}:{len(proj.get('replaced', []))}")
    pool = ctx.pools[need_pos]
    fresh = pool[rng.permutation(pool.shape[0])].tolist()
    pool_set = set(pool.tolist())
    for source, candidates in (("alternate", [eidx[a] for a in alts]), ("fresh", fresh)):
        for a in candidates:
            if a in taken or a in reserved or not elig.ok[a] or a not in pool_set:
                continue
            row = np.array(ordered[:insert_at] + [a] + ordered[insert_at:], np.int64)
            if not legal_rows(ctx, row[None, :])[0]:
                continue
            where = _placement(ctx, rest, ids, leaving, a)
            if where is None:
                continue
            seat = {"expert": ids.experts[a], "need": leaving["need"], "site": ids.sites[where[0]],
                    "room": ids.rooms[where[1]]}
            new_result = copy.deepcopy(result)
            q = next(x for x in new_result["projects"] if x["project"] == project)
            q["seats"] = [s for s in q["seats"] if s["expert"] != expert] + [seat]
            for alt in q["alternates"]:
                alt["experts"] = [x for x in alt["experts"] if x != ids.experts[a]]
            q["replaced"] = [*q.get("replaced", []), expert]
            record = {"project": project, "need": leaving["need"], "replaced": expert,
                      "replacement": ids.experts[a], "source": source, "reason": reason,
                      "site": seat["site"], "room": seat["room"]}
            q.setdefault("replacements", []).append(record)
            return new_result, record
    raise ReplacementError(
        f"no expert can legally replace {expert} on {project} for need {leaving['need']}: the alternates "
        "and the remaining pool all break a rule; widen max_travel_km or add an auxiliary site, then redraw"
    )
