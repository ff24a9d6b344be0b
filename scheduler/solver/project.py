"""Draw one project of a day plan: choose sites (S5), sample a committee (D1), seat it (S1–S4)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from scheduler.solver import explain
from scheduler.solver.context import SiteContext, build
from scheduler.solver.eligibility import Eligibility, familiar_pairs, individual
from scheduler.solver.problem import Intervals, Problem, ProjectSpec
from scheduler.solver.sampler import hopeless, sample
from scheduler.solver.seating import RoomUsage, pick_room, seat_min_travel

CHEAP_PER_HARD = 50  # choices settled by the cheap test that may be examined per CP-SAT-limited one


@dataclass(frozen=True)
class DrawConfig:
    """Deterministic effort limits of the draw (never wall-clock, so replays agree: D3)."""

    batch: int = 512
    max_proposals: int = 200_000
    cpsat_seconds: float = 5.0
    max_aux_choices: int = 120


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


MATERIALISE = 20_000  # choices listed and shuffled at once; beyond this they are drawn lazily


def _site_sets(
    problem: Problem, p: ProjectSpec, elig: Eligibility, rng: np.random.Generator
) -> Iterator[tuple[int, ...]]:
    """The project's possible site sets; for S5, every choice of auxiliary sites in uniform random order."""
    if p.aux_sites is not None:
        yield (p.main_site, *p.aux_sites)
        return
    r = problem.rules
    if r.aux_site_count == 0:
        yield (p.main_site,)
        return
    any_need = np.zeros(problem.experts.n, bool)
    for nd in p.needs:
        any_need[nd.matches] = True
    any_need &= elig.ok
    near = (problem.experts.dist_km[any_need] <= r.max_travel_km).sum(axis=0)
    # Sites that could never hold min_per_aux_site experts are not choices at all; dropping
    # them only skips choices that have no legal committee, so uniformity (S5) is unaffected.
    candidates = [
        s for s in range(len(problem.sites.active))
        if s != p.main_site and problem.sites.active[s] and near[s] >= r.min_per_aux_site
    ]
    k = r.aux_site_count
    total = math.comb(len(candidates), k)
    if total <= MATERIALISE:
        combos = list(itertools.combinations(candidates, k))
        for i in rng.permutation(total).tolist() if total else []:
            yield (p.main_site, *combos[i])
        return
    # Too many to list: draw choices uniformly and skip repeats, which visits them in uniform order.
    seen: set[tuple[int, ...]] = set()
    while len(seen) < total:
        pick = tuple(sorted(rng.choice(candidates, size=k, replace=False).tolist()))
        if pick not in seen:
            seen.add(pick)
            yield (p.main_site, *pick)


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
    fixed = p.aux_sites is not None or problem.rules.aux_site_count == 0
    first_ctx: SiteContext | None = None
    cp_seed = int(rng.integers(0, 2**31))
    examined = hard = undecided = 0
    gave_up = False
    for sites in _site_sets(problem, p, elig, rng):
        examined += 1
        if examined > cfg.max_aux_choices * CHEAP_PER_HARD:
            gave_up = True
            break
        ctx = build(problem, p, sites, elig, state.usage, familiar)
        first_ctx = first_ctx or ctx
        if hopeless(ctx) and not fixed:
            continue  # decided at once: this choice admits no legal committee
        # A short first look per auxiliary-site choice: failing it only sends the choice to CP-SAT.
        budget = cfg.max_proposals if fixed else max(cfg.batch, cfg.max_proposals // 20)
        members, spent = sample(ctx, rng, batch=cfg.batch, max_proposals=budget)
        out.proposals += spent
        if members is not None:
            return _drawn(problem, p, ctx, elig, members, out, state, "exact"), ctx, elig
        if not fixed:
            hard += 1
            if hard > cfg.max_aux_choices:
                gave_up = True
                break
        # CP-SAT (and the pandas it imports) loads only when a project needs it.
        from scheduler.solver import cpsat

        keys = rng.integers(0, 2**20, size=problem.experts.n)
        feasible = (cpsat.CpOutcome("infeasible") if spent == 0 else
                    cpsat.solve(ctx, seed=cp_seed, deterministic_seconds=cfg.cpsat_seconds, keys=keys))
        if feasible.status == "unknown":
            undecided += 1
        if feasible.status == "feasible" and feasible.members is not None:
            if undecided:
                out.warnings.append(
                    "S5: %d choice(s) of auxiliary sites could not be decided within the CP-SAT budget "
                    "(YIDI_CPSAT_DETERMINISTIC_SECONDS) and were skipped, so the choice is approximately "
                    "uniform" % undecided
                )
            if not fixed:
                # This choice is now known to be legal (S5 is settled); the committee itself is
                # still drawn exactly if the full budget finds one.
                members, more = sample(ctx, rng, batch=cfg.batch, max_proposals=cfg.max_proposals)
                spent += more
                out.proposals += more
                if members is not None:
                    return _drawn(problem, p, ctx, elig, members, out, state, "exact"), ctx, elig
            out.warnings.append(
                "D1: rejection sampling found no legal committee in %d proposals; drawn by CP-SAT with "
                "random keys (approximately uniform)" % spent
            )
            flat = np.array([e for need in feasible.members for e in need], np.int64)
            return _drawn(problem, p, ctx, elig, flat, out, state, "approximate"), ctx, elig
        if fixed:
            out.unmet = explain.unmet(problem, ctx, elig, seed=cp_seed, budget=cfg.cpsat_seconds)
            if feasible.status == "unknown":
                for entry in out.unmet:
                    entry["advice"] = ("not proven infeasible: CP-SAT could not decide within "
                                       "YIDI_CPSAT_DETERMINISTIC_SECONDS (raise it); " + entry["advice"])
            out.report = explain.need_report(problem, p, elig, ctx)
            return out, ctx, elig
    if first_ctx is None:
        return _infeasible(out, problem, ["S5"]), None, elig
    out.unmet = explain.unmet(problem, first_ctx, elig, seed=cp_seed, budget=cfg.cpsat_seconds)
    for entry in out.unmet:
        entry["rules"] = ["S5", *[r for r in entry["rules"] if r != "S5"]]
        if gave_up:
            # Not every choice was examined, so "no choice admits a committee" would be untrue.
            entry["advice"] = (
                "the draw examined %d choices of auxiliary sites, none admitting a legal committee, and "
                "stopped at its limit (YIDI_MAX_AUX_CHOICES_TRIED) before examining the rest: name the "
                "auxiliary sites or raise the limit; for the first choice examined: %s"
                % (examined - 1, explain.advice(entry["rules"][1:], problem))
            )
        else:
            entry["advice"] = explain.advice(entry["rules"], problem)
    out.report = explain.need_report(problem, p, elig, first_ctx)
    return out, first_ctx, elig


def _drawn(
    problem: Problem, p: ProjectSpec, ctx: SiteContext, elig: Eligibility, members: np.ndarray, out: Outcome,
    state: DayState, sampling: str,
) -> Outcome:
    out.sampling = sampling
    out.report = explain.need_report(problem, p, elig, ctx)
    return _seat(problem, p, ctx, members, out, state)


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
