"""Why a committee cannot be drawn (rule D4): per-need shortfalls, culprit rules and advice."""

from __future__ import annotations

from dataclasses import replace
from math import ceil

import numpy as np

from scheduler.solver.context import SiteContext, quotas, site_capacity
from scheduler.solver.eligibility import E_RULES, Eligibility
from scheduler.solver.problem import Problem, ProjectSpec
from scheduler.solver.sampler import hopeless

ADVICE = {
    "C1": "the committee size must be odd and at least the procedure's minimum: correct `size`",
    "C2": "drawn experts must be at least ⌈2/3·size⌉: reduce `representatives`",
    "C3": "too few experts in the pool hold this specialty: use a broader specialty code or enrol more experts",
    "E1": "many holders of this specialty are suspended, removed or penalised: enrol more experts",
    "E2": "holders of this specialty are over max_age ({max_age}): enrol younger experts, or raise max_age if "
    "the jurisdiction allows",
    "E3": "holders work for the tenderer, agent or a bidder: add auxiliary sites in other regions",
    "E4": "holders have declared relations with the parties: add auxiliary sites in other regions",
    "E5": "holders work for the supervising department: add auxiliary sites in other regions",
    "E6": "holders reached max_per_30d ({max_per_30d}) committees in 30 days: move the date or add sites",
    "E7": "holders sat max_same_tenderer_365d ({max_same_tenderer_365d}) times for this tenderer: add sites",
    "E8": "holders are on leave or booked at that time: move the evaluation time or add sites",
    "E9": "holders declined or stepped aside earlier: add auxiliary sites to widen the pool",
    "S1": "a site of the project is inactive: choose an active main/auxiliary site",
    "S2": "the site quotas cannot be met: choose auxiliary sites with more eligible experts nearby, or lower "
    "min_per_aux_site / raise max_main_share",
    "S3": "too few holders live within max_travel_km ({max_travel_km:g} km) of the project's sites: widen "
    "max_travel_km or add an auxiliary site nearer to such experts",
    "S4": "the rooms are too small or already taken at that time: book a larger room or move the time",
    "S5": "no choice of auxiliary sites admits a legal committee: name the auxiliary sites, lower "
    "aux_site_count, or widen max_travel_km",
    "S6": "too many eligible experts are local to the project's region: add auxiliary sites outside the "
    "region or raise max_local_share",
    "P1": "too many eligible experts share employers: add auxiliary sites to widen the pool",
    "P2": "eligible experts are familiar pairs (熟面孔): add auxiliary sites to widen the pool",
}


def advice(rules: list[str], problem: Problem) -> str:
    """Advice text for the given rule ids, with the current parameters filled in."""
    params = problem.rules.model_dump()
    return "; ".join(ADVICE[r].format(**params) for r in rules if r in ADVICE)


def committee_rules(problem: Problem, p: ProjectSpec) -> list[str]:
    """C1/C2 violations of the project's own definition."""
    r = problem.rules
    bad = []
    minimum = r.min_size.get(p.procedure, 1)
    if p.procedure == "gp_tender" and p.budget >= r.gp_large_budget:
        minimum = max(minimum, r.gp_large_min_size)
    if p.procedure == "gp_negotiation" and p.budget > r.gp_public_tender_threshold:
        minimum = max(minimum, r.gp_negotiation_above_threshold_min_size)
    if p.size % 2 == 0 or p.size < minimum:
        bad.append("C1")
    if p.size - p.reps < ceil(r.expert_share * p.size):
        bad.append("C2")
    return bad


def need_report(problem: Problem, p: ProjectSpec, elig: Eligibility, ctx: SiteContext) -> list[dict]:
    """Per need: specialty holders, how many each rule removed, eligible count, max inclusion."""
    out = []
    for nd, pool in zip(p.needs, ctx.pools, strict=True):
        m = nd.matches
        removed = {rule: int(elig.fails[rule][m].sum()) for rule in E_RULES}
        removed["S3"] = int((ctx.reach[m] == 0).sum())
        eligible = int(pool.shape[0])
        out.append(
            {
                "need": nd.code,
                "holders": int(m.shape[0]),
                "removed": {k: v for k, v in removed.items() if v},
                "eligible": eligible,
                "max_inclusion": round(min(1.0, nd.count / eligible), 6) if eligible else 1.0,
            }
        )
    return out


def _binding(elig: Eligibility, ctx: SiteContext, j: int) -> list[str]:
    nd = ctx.project.needs[j]
    m = nd.matches
    fails = {rule: elig.fails[rule][m] for rule in E_RULES}
    fails["S3"] = ctx.reach[m] == 0
    ok = np.ones(m.shape[0], bool)
    for f in fails.values():
        ok &= ~f
    single = []
    for rule, f in fails.items():
        others = np.ones(m.shape[0], bool)
        for r2, f2 in fails.items():
            if r2 != rule:
                others &= ~f2
        if int(others.sum()) >= nd.count and int(f.sum()):
            single.append(rule)
    if single:
        return single
    ranked = sorted(fails, key=lambda r: -int(fails[r].sum()))
    return [r for r in ranked if int(fails[r].sum())][:3] or ["C3"]


def unmet(problem: Problem, ctx: SiteContext, elig: Eligibility, *, seed: int, budget: float) -> list[dict]:
    """Unmet entries for an infeasible (project, sites)."""
    p = ctx.project
    entries = []
    for j, (nd, pool) in enumerate(zip(p.needs, ctx.pools, strict=True)):
        if pool.shape[0] < nd.count:
            rules = ["C3"] if nd.matches.shape[0] < nd.count else _binding(elig, ctx, j)
            entries.append(
                {"need": nd.code, "missing": nd.count - int(pool.shape[0]), "eligible": int(pool.shape[0]),
                 "rules": rules, "advice": advice(rules, problem)}
            )
    if entries:
        return entries
    if hopeless(ctx):
        return _seating_shortfall(problem, ctx)
    from scheduler.solver import cpsat  # loaded only when a solver is really needed

    # Each relaxation gets a tenth of the budget: an explanation need not be optimal, only honest.
    share = budget / 10
    culprits = [
        rule for rule in cpsat.DROPPABLE
        if cpsat.solve(ctx, seed=seed, deterministic_seconds=share, drop=frozenset({rule})).status == "feasible"
    ] or list(cpsat.DROPPABLE)
    best = cpsat.solve(ctx, seed=seed, deterministic_seconds=share, partial=True)
    for j, (nd, pool) in enumerate(zip(p.needs, ctx.pools, strict=True)):
        filled = len(best.members[j]) if best.members else 0
        if filled < nd.count:
            entries.append(
                {"need": nd.code, "missing": nd.count - filled, "eligible": int(pool.shape[0]),
                 "rules": culprits, "advice": advice(culprits, problem)}
            )
    if not entries:
        # Every need can be filled alone but not all together under the site quotas.
        nd = p.needs[0]
        entries.append({"need": nd.code, "missing": nd.count, "eligible": int(ctx.pools[0].shape[0]),
                        "rules": culprits, "advice": advice(culprits, problem)})
    return entries


def _seating_shortfall(problem: Problem, ctx: SiteContext) -> list[dict]:
    """Explain a committee that no seating can hold (S2 quotas, S4 rooms) without a solver.

    The pools are large enough, but the sites cannot take the committee: a necessary condition
    on head counts fails. A rule is named when relaxing it alone lifts that condition.
    """
    p = ctx.project
    q_lower, q_upper = quotas(problem, p, len(ctx.sites), ctx.drawn)
    caps = [site_capacity(free, p.reps if i == 0 else 0) for i, free in enumerate(ctx.room_free)]
    no_rooms = replace(ctx, upper=tuple(q_upper), feasible_cache={})
    no_quota = replace(ctx, lower=tuple(0 for _ in q_lower), upper=tuple(min(ctx.drawn, c) for c in caps),
                       feasible_cache={})
    rules = [r for r, relaxed in (("S4", no_rooms), ("S2", no_quota)) if not hopeless(relaxed)] or ["S2", "S4"]
    # Sites whose free rooms cannot take even their minimum: named so the coordinator can act.
    full = [s for i, s in enumerate(ctx.sites) if caps[i] < max(q_lower[i], 1)]
    return [
        {"need": nd.code, "missing": nd.count, "eligible": int(pool.shape[0]), "rules": rules,
         "advice": advice(rules, problem), "sites": full}
        for nd, pool in zip(p.needs, ctx.pools, strict=True)
    ]
