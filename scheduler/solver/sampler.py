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
    # flow runs once per distinct type-count vector and is cached for the whole project. Only
    # the types that occur get a column: with many sites, 2^sites columns would not fit in memory.
    types = ctx.reach[rows]
    present = sorted_unique(types.ravel())
    compact = np.searchsorted(present, types)
    counts = np.stack([(compact == j).sum(axis=1) for j in range(present.shape[0])], axis=1).astype(np.int64)
    radix = rows.shape[1] + 1
    if radix ** present.shape[0] < 2**62:
        keys = counts @ (radix ** np.arange(present.shape[0], dtype=np.int64))
        uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    else:
        uniq, first, inverse = np.unique(counts, axis=0, return_index=True, return_inverse=True)
    verdict = np.empty(uniq.shape[0], bool)
    codes = present.tolist()
    for i, row in enumerate(first.tolist()):
        vec = counts[row].tolist()
        key = tuple((t, c) for t, c in zip(codes, vec, strict=True) if c)
        if key not in ctx.feasible_cache:
            ctx.feasible_cache[key] = types_feasible([t for t, _ in key], [c for _, c in key], ctx.lower, ctx.upper)
        verdict[i] = ctx.feasible_cache[key]
    return verdict[np.asarray(inverse).ravel()]


def hopeless(ctx: SiteContext) -> bool:
    """Cheap necessary conditions: when one fails, no committee is legal and no solver is needed."""
    if any(pool.shape[0] < c for pool, c in zip(ctx.pools, ctx.counts, strict=True)):
        return True
    if any(lo > up for lo, up in zip(ctx.lower, ctx.upper, strict=True)) or sum(ctx.upper) < ctx.drawn:
        return True
    union = sorted_unique(np.concatenate(ctx.pools))
    # Distinct people must fill every site's minimum at once (one expert cannot sit at two sites).
    types, counts = np.unique(ctx.reach[union], return_counts=True)
    return not minimums_coverable(types.tolist(), counts.tolist(), ctx.lower)


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
