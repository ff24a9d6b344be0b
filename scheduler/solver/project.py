"""Draw one project of a day plan: choose sites (S5), sample a committee (D1), seat it (S1–S4)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from scheduler.solver import explain
from scheduler.solver.context import SiteContext, build
from scheduler.solver.eligibility import Eligibility, familiar_pairs, individual
from scheduler.solver.problem import Intervals, Problem, ProjectSpec
from scheduler.solver.sampler import sample
from scheduler.solver.seating import RoomUsage, pick_room, seat_min_travel


@dataclass(frozen=True)
class DrawConfig:
    """Deterministic effort limits of the draw (never wall-clock, so replays agree: D3)."""

    batch: int = 512
    max_proposals: int = 200_000
    cpsat_seconds: float = 5.0
    max_aux_choices: int = 60


@dataclass
class Outcome:
    """What happened to one project."""

    status: str = "infeasible"
    sampling: str | None = None
    sites: tuple[int, ...] = ()
    members: tuple[tuple[int, ...], ...] = ()
    seat_site: dict[int, int] = field(default_factory=dict)
    site_room: dict[int, int] = field(default_factory=dict)
    alternates: list[list[int]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unmet: list[dict] = field(default_factory=list)
    report: list[dict] = field(default_factory=list)
    proposals: int = 0


@dataclass
class DayState:
    """Experts and rooms taken by the projects drawn so far."""

    usage: RoomUsage
    busy_expert: list[int] = field(default_factory=list)
    busy_start: list[int] = field(default_factory=list)
    busy_end: list[int] = field(default_factory=list)
    pair_cache: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)

    def busy(self) -> Intervals:
        """Seats already taken in this day plan."""
        return Intervals(np.array(self.busy_expert, np.int64), np.array(self.busy_start, np.int64),
                         np.array(self.busy_end, np.int64))

    def take(self, p: ProjectSpec, members: list[int]) -> None:
        """Mark `members` busy during p."""
        self.busy_expert.extend(members)
        self.busy_start.extend([p.start] * len(members))
        self.busy_end.extend([p.end] * len(members))


def _infeasible(out: Outcome, problem: Problem, rules: list[str], need: str | None = None) -> Outcome:
    out.status = "infeasible"
    out.unmet.append({"need": need, "missing": 0, "eligible": 0, "rules": rules,
                      "advice": explain.advice(rules, problem)})
    return out


def _site_sets(problem: Problem, p: ProjectSpec, elig: Eligibility, rng: np.random.Generator) -> list[tuple[int, ...]]:
    if p.aux_sites is not None:
        return [(p.main_site, *p.aux_sites)]
    r = problem.rules
    if r.aux_site_count == 0:
        return [(p.main_site,)]
    any_need = np.zeros(problem.experts.n, bool)
    for nd in p.needs:
        any_need[nd.matches] = True
    any_need &= elig.ok
    near = (problem.experts.dist_km[any_need] <= r.max_travel_km).sum(axis=0)
    # Sites that could never hold min_per_aux_site experts are not choices at all; dropping
    # them only skips choices that have no legal committee, so uniformity (S5) is unaffected.
    candidates = [
        s for s in range(len(problem.sites.active))
        if s != p.main_site and problem.sites.active[s] and near[s] >= max(1, r.min_per_aux_site)
        and problem.sites.rooms[s]
    ]
    combos = list(itertools.combinations(candidates, r.aux_site_count))
    order: list[int] = rng.permutation(len(combos)).tolist() if combos else []
    return [(p.main_site, *combos[i]) for i in order]


def draw_project(
    problem: Problem, p: ProjectSpec, state: DayState, rng: np.random.Generator, cfg: DrawConfig
) -> tuple[Outcome, SiteContext | None, Eligibility | None]:
    """Draw and seat one project against the day state (which the caller updates)."""
    out = Outcome()
    bad = explain.committee_rules(problem, p)
    if bad:
        return _infeasible(out, problem, bad), None, None
    if not problem.sites.active[p.main_site] or (
        p.aux_sites is not None and not all(problem.sites.active[s] for s in p.aux_sites)
    ):
        return _infeasible(out, problem, ["S1"]), None, None
    elig = individual(problem, p, state.busy())
    familiar = familiar_pairs(problem, p.start, state.pair_cache)
    site_sets = _site_sets(problem, p, elig, rng)
    if not site_sets:
        return _infeasible(out, problem, ["S5"]), None, elig
    first_ctx: SiteContext | None = None
    cp_seed = int(rng.integers(0, 2**31))
    for tried, sites in enumerate(site_sets):
        if tried >= cfg.max_aux_choices:
            break
        ctx = build(problem, p, sites, elig, state.usage, familiar)
        first_ctx = first_ctx or ctx
        members, spent = sample(ctx, rng, batch=cfg.batch, max_proposals=cfg.max_proposals)
        out.proposals += spent
        if members is not None:
            out.sampling = "exact"
            out.report = explain.need_report(problem, p, elig, ctx)
            return _seat(problem, p, ctx, members, out, state), ctx, elig
        # CP-SAT (and the pandas it imports) loads only when a project needs it.
        from scheduler.solver import cpsat

        if spent == 0:
            feasible = cpsat.CpOutcome("infeasible")
        else:
            keys = rng.integers(0, 2**20, size=problem.experts.n)
            feasible = cpsat.solve(ctx, seed=cp_seed, deterministic_seconds=cfg.cpsat_seconds, keys=keys)
        if feasible.status == "feasible" and feasible.members is not None:
            out.sampling = "approximate"
            out.warnings.append(
                "D1: rejection sampling found no legal committee in %d proposals; drawn by CP-SAT with "
                "random keys (approximately uniform)" % spent
            )
            flat = np.array([e for need in feasible.members for e in need], np.int64)
            out.report = explain.need_report(problem, p, elig, ctx)
            return _seat(problem, p, ctx, flat, out, state), ctx, elig
        if p.aux_sites is not None:
            out.unmet = explain.unmet(problem, ctx, elig, seed=cp_seed, budget=cfg.cpsat_seconds)
            out.report = explain.need_report(problem, p, elig, ctx)
            return out, ctx, elig
    assert first_ctx is not None
    out.unmet = explain.unmet(problem, first_ctx, elig, seed=cp_seed, budget=cfg.cpsat_seconds)
    for entry in out.unmet:
        entry["rules"] = ["S5", *entry["rules"]]
        entry["advice"] = explain.advice(entry["rules"], problem)
    out.report = explain.need_report(problem, p, elig, first_ctx)
    return out, first_ctx, elig


def _seat(
    problem: Problem, p: ProjectSpec, ctx: SiteContext, members: np.ndarray, out: Outcome, state: DayState
) -> Outcome:
    flat = members.tolist()
    dist = problem.experts.dist_km[np.ix_(members, np.array(ctx.sites))]
    where = seat_min_travel(dist, ctx.reach[members], ctx.lower, ctx.upper)
    if where is None:  # cannot happen after a feasibility check; fail loudly rather than seat illegally
        raise RuntimeError(f"seating failed for project {p.index} after acceptance")
    out.status = "drawn"
    out.sites = ctx.sites
    pos = 0
    grouped = []
    for count in ctx.counts:
        grouped.append(tuple(flat[pos:pos + count]))
        pos += count
    out.members = tuple(grouped)
    out.seat_site = {e: ctx.sites[s] for e, s in zip(flat, where, strict=True)}
    for i, site in enumerate(ctx.sites):
        needed = sum(1 for s in where if s == i) + (p.reps if i == 0 else 0)
        if needed == 0:
            continue
        room = pick_room(ctx.room_free[i], needed)
        if room is None:
            raise RuntimeError(f"no room fits {needed} at site {site} after a feasibility check")
        out.site_room[site] = room
        state.usage.add(room, needed, p.start, p.end)
    state.take(p, flat)
    return out
