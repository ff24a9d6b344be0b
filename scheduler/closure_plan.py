"""Re-planning after a closure, the pure part: new seats for one project on the encoded problem (S1–S4, R1, D2).

Only the seats at the closed site/room change; the others stay exactly as they were. The displaced
experts are re-seated jointly (scheduler.closure_seating); when a kept group's room is too small for
the newcomers, that group may move to a bigger room of its own site (kept experts keep their site;
no room change is preferred, then the fewest kept experts moved). Only when no joint seating of the
same experts exists are the fewest of them replaced (R1), and only when that fails too is the project
reported with the blocking rule. The alternates are then re-checked against the new committee and
seating (D2, scheduler.closure_alternates). Nothing here touches the database: evaluation.replan
stores a plan.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from scheduler.closure_alternates import recheck
from scheduler.closure_replace import MAX_STEPS, Job, replacements
from scheduler.closure_seating import Frame, frame, seats_of
from scheduler.draw import parse_seed
from scheduler.encoder import IdMaps
from scheduler.replace import drawn_usage
from scheduler.solver.dayplan import rng_for
from scheduler.solver.eligibility import familiar_pairs, individual
from scheduler.solver.problem import Problem

logger = logging.getLogger(__name__)


@dataclass
class Plan:
    """New seats of one project, or why it cannot be re-planned."""

    seats: list[dict[str, str]] = field(default_factory=list)
    aux_sites: list[str] | None = None
    moved: int = 0
    replaced: list[tuple[dict[str, str], dict[str, str], str]] = field(default_factory=list)
    blocked: dict[str, Any] | None = None
    alternates: list[dict[str, Any]] | None = None  # re-checked lists, [{"need", "experts"}] (D2)
    alternates_dropped: int = 0
    alternates_added: int = 0
    alternates_short: list[dict[str, Any]] = field(default_factory=list)
    representatives_room: str | None = None  # set when the representatives' room changes (S2)
    rooms_changed: list[dict[str, Any]] = field(default_factory=list)  # kept groups moved: site, from/to room, seats

    @property
    def warnings(self) -> list[str]:
        """The D2 shortfalls, worded like the draw's."""
        return ["D2: only %d alternate(s) for need %s (wanted %d): the eligible pool is exhausted"
                % (s["have"], s["need"], s["want"]) for s in self.alternates_short]


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
    is_main = sidx[site] == p.main_site
    if is_main and room is None:
        need = ",".join(sorted({s["need"] for s in affected}))
        return _blocked(need, len(affected), ["S1", "S2"],
                        "the main site holds the tenderer representatives and cannot be left: postpone the "
                        "evaluation, or cancel the project and create it with another main site, then draw again")
    busy, usage = drawn_usage(problem, ids, result, code)
    ridx = {r: i for i, r in enumerate(ids.rooms)}
    for r in [ridx[room]] if room else list(problem.sites.rooms[sidx[site]]):
        usage.add(r, int(problem.rooms.seats[r]) + 10_000, *window)  # closed: no seat free (S4)
    if room is None:
        # With every seat of the closed site gone the site leaves the project.
        affected = [s for s in seats if s["site"] == site]
    aux_now = list(proj["aux_sites"] or [])
    kept = [s for s in seats if s not in affected]
    options = [aux_now] if room is not None else []
    if not is_main and not any(s["site"] == site for s in kept):  # the site can leave only when emptied
        options.append([a for a in aux_now if a != site])
    elig = individual(problem, p, busy)
    familiar = familiar_pairs(problem, p.start, {})
    n = len(affected)
    frames = [frame(problem, ids, p, aux, kept, elig, usage, familiar) for aux in options]
    # Every choice of sites and room moves that has seats enough for the displaced at all (a seat
    # anyone may take is the loosest test); no room change first, then the fewest kept experts moved.
    variants = [v for fr in frames for v in fr.variants()]
    usable = sorted((v for v in variants if v.seat([], [], [v.anywhere] * n) is not None),
                    key=lambda v: v.kept_moved)
    job = Job(problem, ids, result, proj, kept, affected, f"{code}:{site}:{room}")
    job.barred = {job.eidx(s["expert"]) for s in seats} | {job.eidx(e) for e in proj.get("replaced", [])}
    job.reserved = _reserved(problem, ids, result, code)
    for k in range(n + 1 if usable else 0):  # the fewest replacements first (R1), none if possible
        for fr in usable:
            plan = _try(job, fr, k)
            if plan is not None:
                logger.debug("closure %s: %d seat(s) moved, %d replaced, %d room(s) changed, %d seating(s) tried",
                             job.label, plan.moved, len(plan.replaced), len(plan.rooms_changed), job.steps)
                return _with_alternates(job, fr, plan)
    return _diagnose(job, variants, is_main)


def _reserved(problem: Problem, ids: IdMaps, result: dict[str, Any], code: str) -> set[int]:
    """Alternates of the other drawn projects overlapping this one (with the travel buffer): theirs (D2, E8)."""
    pidx = {q: i for i, q in enumerate(ids.projects)}
    p = problem.projects[pidx[code]]
    buffer_s = problem.rules.travel_buffer_minutes * 60
    eidx = {e: i for i, e in enumerate(ids.experts)}
    out: set[int] = set()
    for q in result["projects"]:
        if q["project"] == code or q["status"] != "drawn":
            continue
        other = problem.projects[pidx[q["project"]]]
        if other.start < p.end + buffer_s and other.end > p.start - buffer_s:
            out.update(eidx[x] for alt in q["alternates"] for x in alt["experts"])
    return out


def _try(job: Job, fr: Frame, k: int) -> Plan | None:
    """A plan keeping all displaced experts but `k`, who are replaced (R1); None when no such plan exists."""
    sidx = {s: i for i, s in enumerate(job.ids.sites)}
    origin = {s["expert"]: sidx[s["site"]] for s in job.displaced}
    reach = {s["expert"]: int(fr.ctx.reach[job.eidx(s["expert"])]) for s in job.displaced}
    # Whoever can reach none of the remaining sites must leave; of the others, those who can reach
    # fewer sites are tried first.
    forced = [s for s in job.displaced if not reach[s["expert"]]]
    order = sorted((s for s in job.displaced if reach[s["expert"]]),
                   key=lambda s: (bin(reach[s["expert"]]).count("1"), s["need"], s["expert"]))
    for extra in combinations(order, k - len(forced)) if k >= len(forced) else ():
        if job.exhausted:
            return None
        job.steps += 1
        drop = (*forced, *extra)
        stay = [s for s in job.displaced if s not in drop]
        where = fr.seat([job.eidx(s["expert"]) for s in stay], [origin[s["expert"]] for s in stay],
                        [fr.anywhere] * k)
        if where is None:
            continue
        if k == 0:
            seats, reps_room, rooms = seats_of(fr, job.ids, job.kept, stay, where)
            return Plan(seats=seats, aux_sites=fr.aux, moved=len(stay), representatives_room=reps_room,
                        rooms_changed=rooms)
        picks = replacements(job, fr, stay, list(drop), origin)
        if picks is None:
            continue
        movers = [job.eidx(s["expert"]) for s in stay] + [a for _, a, _ in picks]
        where = fr.seat(movers, [origin[s["expert"]] for s in stay] + [None] * k)
        assert where is not None  # the last pick was checked with no seat left to fill
        fresh = [{**s, "expert": job.ids.experts[a]} for s, a, _ in picks]
        seats, reps_room, rooms = seats_of(fr, job.ids, job.kept, [*stay, *fresh], where)
        replaced = [(s, seat, src) for (s, _, src), seat in zip(picks, seats[len(job.kept) + len(stay):], strict=True)]
        return Plan(seats=seats, aux_sites=fr.aux, moved=len(stay), replaced=replaced,
                    representatives_room=reps_room, rooms_changed=rooms)
    return None


def _with_alternates(job: Job, fr: Frame, plan: Plan) -> Plan:
    """Re-check the alternates against the planned committee and seating (D2); top them up."""
    ctx = fr.ctx
    needs = [nd.code for nd in ctx.project.needs]
    members = [[job.eidx(s["expert"]) for s in plan.seats if s["need"] == code] for code in needs]
    old_by_need = {a["need"]: a["experts"] for a in job.proj["alternates"]}
    old = [[job.eidx(e) for e in old_by_need.get(code, [])] for code in needs]
    seed = parse_seed(job.result["seed"])
    rngs = [rng_for(seed, f"replan-alternates:{job.label}:{code}") for code in needs]
    barred = job.barred | {job.eidx(r[1]["expert"]) for r in plan.replaced}
    alt = recheck(ctx, members, old, barred, job.reserved, rngs)
    plan.alternates = [{"need": code, "experts": [job.ids.experts[a] for a in lst]}
                       for code, lst in zip(needs, alt.lists, strict=True)]
    plan.alternates_dropped, plan.alternates_added, plan.alternates_short = alt.dropped, alt.added, alt.short
    return plan


def _diagnose(job: Job, frames: list[Frame], is_main: bool) -> Plan:
    """Why no plan exists: the remaining sites cannot take the seats (S2/S4), or nobody can fill them (S3, R1)."""
    need = ",".join(sorted({s["need"] for s in job.displaced}))
    n = len(job.displaced)
    codes = ", ".join(sorted({c for fr in frames for c in (job.ids.sites[s] for s in fr.ctx.sites)}))
    if not any(fr.seat([], [], [fr.anywhere] * n) is not None for fr in frames):
        full_site = not any(fr.seat([], [], [fr.anywhere] * n, rooms=False) is not None for fr in frames)
        if full_site:
            return _blocked(need, n, ["S2"], f"the remaining sites ({codes}) cannot take {n} more expert(s) "
                            "within the main-site share and the per-site minimums: add an auxiliary site and "
                            "redraw, or postpone the evaluation")
        return _blocked(need, n, ["S1", "S4"], f"no room at the remaining sites ({codes}) has {n} more free "
                        "seat(s)" + (" next to the tenderer representatives" if is_main else "")
                        + " during the evaluation, even moving a site's whole group to another of its rooms: "
                        "free seats there (move or cancel a room booking), or postpone the evaluation")
    limit = " (the search stopped at its limit of %d seatings tried)" % MAX_STEPS if job.exhausted else ""
    return _blocked(need, n, ["S3", "R1"],
                    f"the displaced experts cannot all reach another site of the project ({codes}) within "
                    f"max_travel_km, and no alternate or other eligible expert of need {need} can legally take "
                    f"their seats{limit}: widen max_travel_km, add an auxiliary site and redraw, or postpone")
