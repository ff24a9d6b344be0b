"""Exact uniform sampling of legal committees by vectorised rejection (rule D1).

Each proposal draws, for every need, a uniformly random subset of that need's eligible pool; a
proposal is accepted only when every coupled rule holds (C4 across needs, P1, P2, S6 and a legal
seating S1–S4). Accepting the first legal proposal of an i.i.d. stream is exactly uniform over
legal committees, whatever the acceptance rate; the rate only costs time.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from scheduler.solver.context import SiteContext
from scheduler.solver.problem import sorted_unique
from scheduler.solver.seating import minimums_coverable, types_feasible


def _propose(ctx: SiteContext, rng: np.random.Generator, batch: int) -> np.ndarray:
    cols = []
    for pool, count in zip(ctx.pools, ctx.counts, strict=True):
        m = pool.shape[0]
        if m >= 8 * count:
            # With replacement, then rejecting rows with repeats (below): uniform over subsets.
            idx = rng.integers(0, m, size=(batch, count))
        else:
            keys = rng.random((batch, m))
            idx = np.argpartition(keys, count - 1, axis=1)[:, :count] if count < m else np.argsort(keys, axis=1)
        cols.append(pool[idx])
    return np.concatenate(cols, axis=1)


@lru_cache(maxsize=64)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    iu, ju = np.triu_indices(n, 1)
    return iu, ju


def legal_rows(ctx: SiteContext, rows: np.ndarray) -> np.ndarray:
    """Boolean mask of the committees (one per row of expert indices) that satisfy every coupled rule."""
    problem = ctx.problem
    rules = problem.rules
    ok = np.ones(rows.shape[0], bool)
    srt = np.sort(rows, axis=1)
    ok &= ~(srt[:, 1:] == srt[:, :-1]).any(axis=1)  # C4 (and no repeat within a need)
    k = rules.max_same_employer
    if rows.shape[1] > k:
        emp = np.sort(problem.experts.employer[rows], axis=1)
        ok &= ~((emp[:, k:] == emp[:, :-k]) & (emp[:, k:] >= 0)).any(axis=1)  # P1
    ok &= ctx.local[rows].sum(axis=1) <= ctx.max_local  # S6
    if ctx.familiar.size and ok.any():
        n = problem.experts.n
        iu, ju = _pairs(rows.shape[1])
        a, b = rows[:, iu], rows[:, ju]
        keys = np.minimum(a, b) * n + np.maximum(a, b)
        pos = np.clip(np.searchsorted(ctx.familiar, keys), 0, ctx.familiar.size - 1)
        ok &= ~(ctx.familiar[pos] == keys).any(axis=1)  # P2
    if ok.any():
        ok[ok] = _seatable(ctx, rows[ok])
    return ok


def _seatable(ctx: SiteContext, rows: np.ndarray) -> np.ndarray:
    # Seating feasibility depends only on how many experts of each reach type there are, so the
    # flow runs once per distinct type-count vector and is cached for the whole project.
    n_types = 1 << len(ctx.sites)
    types = ctx.reach[rows]
    counts = np.zeros((rows.shape[0], n_types), np.int64)
    for t in sorted_unique(types.ravel()).tolist():
        counts[:, t] = (types == t).sum(axis=1)
    # One integer per type-count vector (mixed radix) makes the distinct vectors cheap to find.
    radix = rows.shape[1] + 1
    if radix ** n_types < 2**62:
        keys = counts @ (radix ** np.arange(n_types, dtype=np.int64))
        uniq, inverse = np.unique(keys, return_inverse=True)
        verdict = np.empty(uniq.shape[0], bool)
        first = np.zeros(uniq.shape[0], np.int64)
        first[inverse[::-1]] = np.arange(rows.shape[0])[::-1]
        for i, key in enumerate(uniq.tolist()):
            if key not in ctx.feasible_cache:
                ctx.feasible_cache[key] = types_feasible(counts[first[i]].tolist(), ctx.lower, ctx.upper)
            verdict[i] = ctx.feasible_cache[key]
        return verdict[inverse]
    out = np.empty(rows.shape[0], bool)
    for i, vec in enumerate(counts.tolist()):
        key2 = tuple(vec)
        if key2 not in ctx.feasible_cache:
            ctx.feasible_cache[key2] = types_feasible(vec, ctx.lower, ctx.upper)
        out[i] = ctx.feasible_cache[key2]
    return out


def hopeless(ctx: SiteContext) -> bool:
    """Cheap necessary conditions: when one fails, no committee is legal and no solver is needed."""
    if any(pool.shape[0] < c for pool, c in zip(ctx.pools, ctx.counts, strict=True)):
        return True
    if any(lo > up for lo, up in zip(ctx.lower, ctx.upper, strict=True)) or sum(ctx.upper) < ctx.drawn:
        return True
    union = sorted_unique(np.concatenate(ctx.pools))
    # Distinct people must fill every site's minimum at once (one expert cannot sit at two sites).
    counts = np.bincount(ctx.reach[union], minlength=1 << len(ctx.sites)).tolist()
    return not minimums_coverable(counts, ctx.lower)


def sample(
    ctx: SiteContext, rng: np.random.Generator, *, batch: int, max_proposals: int
) -> tuple[np.ndarray | None, int]:
    """First legal proposal (expert indices, needs concatenated in order) and proposals spent."""
    if hopeless(ctx):
        return None, 0
    spent = 0
    while spent < max_proposals:
        rows = _propose(ctx, rng, batch)
        spent += batch
        hits = np.flatnonzero(legal_rows(ctx, rows))
        if hits.size:
            return rows[hits[0]], spent - batch + int(hits[0]) + 1
    return None, spent


def is_legal(ctx: SiteContext, members: np.ndarray) -> bool:
    """Whether one committee (expert indices in need order) satisfies every coupled rule."""
    return bool(legal_rows(ctx, members.reshape(1, -1))[0])
