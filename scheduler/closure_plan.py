"""Re-planning after a closure, the pure part: new seats for one project on the encoded problem (S1–S4, R1).

Only the seats at the closed site/room change; the others stay exactly as they were. A project is
either re-planned completely and legally or reported with the blocking rule. Nothing here touches
the database: scheduler.replan stores a plan.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scheduler.draw import parse_seed
from scheduler.encoder import IdMaps
from scheduler.replace import drawn_usage
from scheduler.solver.context import SiteContext, build
from scheduler.solver.dayplan import rng_for
from scheduler.solver.eligibility import familiar_pairs, individual
from scheduler.solver.problem import Problem
from scheduler.solver.sampler import legal_rows
from scheduler.solver.seating import pick_room, site_free


@dataclass
class Plan:
    """New seats of one project, or why it cannot be re-planned."""

    seats: list[dict[str, str]] = field(default_factory=list)
    aux_sites: list[str] | None = None
    moved: int = 0
    replaced: list[tuple[dict[str, str], dict[str, str], str]] = field(default_factory=list)
    blocked: dict[str, Any] | None = None


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
    busy, usage = drawn_usage(problem, ids, result, code)
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
    alts: list[str] = next((a["experts"] for a in proj["alternates"] if a["need"] == leaving["need"]), [])
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
