"""CP-SAT models over the coupled rules: prove (in)feasibility, approximate draws, find culprits."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from scheduler.solver.context import SiteContext, quotas, site_capacity

logger = logging.getLogger(__name__)

DROPPABLE = ("P1", "P2", "S6", "S2", "S4")


@dataclass(frozen=True)
class CpOutcome:
    """`status` is "feasible", "infeasible" or "unknown"; `members` per need when feasible."""

    status: str
    members: tuple[tuple[int, ...], ...] | None = None


def solve(
    ctx: SiteContext,
    *,
    seed: int,
    deterministic_seconds: float,
    drop: frozenset[str] = frozenset(),
    keys: np.ndarray | None = None,
    partial: bool = False,
) -> CpOutcome:
    """Solve the committee model; `keys` (per expert) make it an approximate random draw.

    With `partial`, needs may be under-filled and the model maximises filled seats instead.
    """
    problem = ctx.problem
    rules = problem.rules
    p = ctx.project
    model = cp_model.CpModel()
    x: list[dict[int, cp_model.IntVar]] = []
    by_expert: dict[int, list[cp_model.IntVar]] = {}
    for j, pool in enumerate(ctx.pools):
        xj = {}
        for e in pool.tolist():
            var = model.new_bool_var(f"x{j}_{e}")
            xj[e] = var
            by_expert.setdefault(e, []).append(var)
        x.append(xj)
        if partial:
            model.add(sum(xj.values()) <= ctx.counts[j])
        else:
            model.add(sum(xj.values()) == ctx.counts[j])
    experts = sorted(by_expert)
    u = {}
    for e in experts:
        if len(by_expert[e]) == 1:
            u[e] = by_expert[e][0]
        else:
            u[e] = model.new_bool_var(f"u{e}")
            model.add(sum(by_expert[e]) == u[e])  # C4
    if "P1" not in drop:
        groups: dict[int, list[cp_model.IntVar]] = {}
        for e in experts:
            emp = int(problem.experts.employer[e])
            if emp >= 0:
                groups.setdefault(emp, []).append(u[e])
        for members in groups.values():
            if len(members) > rules.max_same_employer:
                model.add(sum(members) <= rules.max_same_employer)
    if "P2" not in drop and ctx.familiar.size:
        n = problem.experts.n
        for key in ctx.familiar.tolist():
            a, b = divmod(key, n)
            if a in u and b in u:
                model.add(u[a] + u[b] <= 1)
    if "S6" not in drop:
        model.add(sum(u[e] for e in experts if ctx.local[e]) <= ctx.max_local)
    k = len(ctx.sites)
    lower, upper = quotas(problem, p, k, ctx.drawn)
    caps = [site_capacity(free, p.reps if i == 0 else 0) for i, free in enumerate(ctx.room_free)]
    site_vars: list[list[cp_model.IntVar]] = [[] for _ in range(k)]
    for e in experts:
        ys = []
        for s in range(k):
            if ctx.reach[e] >> s & 1:
                y = model.new_bool_var(f"y{e}_{s}")
                site_vars[s].append(y)
                ys.append(y)
        model.add(sum(ys) == u[e])
    for s in range(k):
        lo = 0 if "S2" in drop else lower[s]
        hi = ctx.drawn if "S2" in drop else upper[s]
        if "S4" not in drop:
            hi = min(hi, caps[s])
        if hi < lo:
            return CpOutcome("infeasible")
        model.add_linear_constraint(sum(site_vars[s]), lo, hi)
    filled = [sum(xj.values()) for xj in x]
    if keys is not None:
        model.maximize(sum(int(keys[e]) * u[e] for e in experts))
    elif partial:
        model.maximize(sum(filled))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # single worker + fixed seed: a replay finds the same answer (D3)
    solver.parameters.random_seed = seed % (2**31)
    solver.parameters.max_deterministic_time = deterministic_seconds
    status = solver.solve(model)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = tuple(tuple(e for e, var in xj.items() if solver.value(var)) for xj in x)
        return CpOutcome("feasible", chosen)
    if status == cp_model.INFEASIBLE:
        return CpOutcome("infeasible")
    logger.info("CP-SAT gave up on project %d within %.1f deterministic s", p.index, deterministic_seconds)
    return CpOutcome("unknown")
