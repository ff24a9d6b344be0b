"""Alternates after a closure re-plan (D2): keep the ones still valid, draw fresh ones as the draw does.

An alternate is valid when it is eligible for the project (E1–E9, within reach of a remaining site:
the context's pool) and swapping it for EVERY member of its need keeps the committee legal with the
project's new sites and rooms. Fresh alternates are taken in a seeded uniform order of the need's
pool, exactly like the draw's own (scheduler.solver.dayplan), skipping alternates that overlapping
projects hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scheduler.solver.context import SiteContext
from scheduler.solver.dayplan import valid_alternates

CHUNK = 64


@dataclass
class AltOutcome:
    """The re-checked alternates per need (expert indices, ordered) and what changed."""

    lists: list[list[int]] = field(default_factory=list)
    dropped: int = 0
    added: int = 0
    short: list[dict[str, int | str]] = field(default_factory=list)


def valid_for(ctx: SiteContext, committee: np.ndarray, offset: int, count: int, cand: np.ndarray) -> np.ndarray:
    """For each candidate: does swapping it for every member of the need at [offset, offset+count) stay legal?"""
    if not cand.size or not count:  # an empty need has no member an alternate could stand in for
        return np.zeros(cand.shape[0], bool)
    return valid_alternates(ctx, committee, offset, count, cand)


def recheck(ctx: SiteContext, members: list[list[int]], old: list[list[int]], barred: set[int],
            reserved: set[int], rngs: list[np.random.Generator]) -> AltOutcome:
    """Re-check each need's alternates against the committee `members` (per need) and top them up to the rule."""
    want = ctx.problem.rules.alternates_per_need
    committee = np.array([e for need in members for e in need], np.int64)
    taken = set(committee.tolist()) | barred
    out = AltOutcome()
    offset = 0
    for j, need in enumerate(members):
        pool = ctx.pools[j]
        in_pool = set(pool.tolist())
        olds = [a for a in (old[j] if j < len(old) else []) if a not in taken]
        cand = np.array([a for a in olds if a in in_pool], np.int64)
        ok = set(cand[valid_for(ctx, committee, offset, len(need), cand)].tolist())
        chosen = [a for a in olds if a in ok]
        out.dropped += len(old[j] if j < len(old) else []) - len(chosen)
        taken.update(chosen)
        shuffled = pool[rngs[j].permutation(pool.shape[0])]
        for lo in range(0, shuffled.shape[0], CHUNK):
            if len(chosen) >= want:
                break
            fresh = np.array([a for a in shuffled[lo:lo + CHUNK].tolist() if a not in taken and a not in reserved],
                             np.int64)
            for a in fresh[valid_for(ctx, committee, offset, len(need), fresh)].tolist():
                if len(chosen) < want:
                    chosen.append(a)
                    taken.add(a)
                    out.added += 1
        if len(chosen) < want:
            out.short.append({"need": ctx.project.needs[j].code, "have": len(chosen), "want": want})
        out.lists.append(chosen)
        offset += len(need)
    return out
