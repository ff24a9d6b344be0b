"""Replacements after a closure (R1) for seats whose experts can sit at no remaining site.

Each such seat is filled, in R1 order, by the need's first alternate who still satisfies every rule
with the remaining committee, else by a fresh seeded uniform pick of the need's pool. Several seats
are filled together by a depth-first search over those orders, so an early pick that would leave a
later seat without any legal seating is undone; the answer is the first joint choice in R1 order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from scheduler.closure_seating import Frame
from scheduler.draw import parse_seed
from scheduler.encoder import IdMaps
from scheduler.solver.context import SiteContext
from scheduler.solver.dayplan import rng_for
from scheduler.solver.problem import Problem
from scheduler.solver.sampler import legal_rows

CHUNK = 512
MAX_STEPS = 20_000  # candidate seatings examined per project; the search reports when it stops early

Pick = tuple[dict[str, str], int, str]  # (seat left, expert index taking it, "alternate" | "fresh")
Open = tuple[dict[str, str], list[tuple[int, str]], int]  # (seat left, its legal candidates, their reach union)


@dataclass(eq=False)
class Job:
    """What every step of one project's re-plan shares."""

    problem: Problem
    ids: IdMaps
    result: dict[str, Any]
    proj: dict[str, Any]
    kept: list[dict[str, str]]
    displaced: list[dict[str, str]]
    label: str
    barred: set[int] = field(default_factory=set)  # members and former members (E9): never picked
    reserved: set[int] = field(default_factory=set)  # alternates of overlapping projects (D2, E8)
    steps: int = 0
    index: dict[str, int] = field(default_factory=dict)

    def eidx(self, code: str) -> int:
        """Expert index of a code."""
        if not self.index:
            self.index = {e: i for i, e in enumerate(self.ids.experts)}
        return self.index[code]

    @property
    def exhausted(self) -> bool:
        """Whether the search stopped at MAX_STEPS."""
        return self.steps >= MAX_STEPS


def _legal(relaxed: SiteContext, row: list[int], cands: np.ndarray) -> np.ndarray:
    """Which candidates keep the partial committee `row` legal (seating checked separately, exactly)."""
    out = np.zeros(cands.size, bool)
    base = np.array(row, np.int64)[None, :]
    for lo in range(0, cands.size, CHUNK):
        chunk = cands[lo:lo + CHUNK]
        rows = np.concatenate([np.repeat(base, chunk.size, axis=0), chunk[:, None]], axis=1)
        out[lo:lo + CHUNK] = legal_rows(relaxed, rows)
    return out


def _ordered(job: Job, ctx: SiteContext, leaving: dict[str, str], used: set[int]) -> list[tuple[int, str]]:
    """The seat's candidates in R1 order: its need's alternates as listed, then a seeded uniform order of the pool."""
    pos = [nd.code for nd in ctx.project.needs].index(leaving["need"])
    pool = ctx.pools[pos]
    pool_set = set(pool.tolist())
    alts: list[str] = next((a["experts"] for a in job.proj["alternates"] if a["need"] == leaving["need"]), [])
    rng = rng_for(parse_seed(job.result["seed"]), f"replan:{job.label}:{leaving['expert']}")
    out: list[tuple[int, str]] = []
    seen: set[int] = set()
    for source, cands in (("alternate", [job.eidx(a) for a in alts]),
                          ("fresh", pool[rng.permutation(pool.size)].tolist())):
        for a in cands:
            if a in pool_set and a not in used and a not in seen:
                seen.add(a)
                out.append((a, source))
    return out


def replacements(job: Job, fr: Frame, stay: list[dict[str, str]], drop: list[dict[str, str]],
                 origin: dict[str, int]) -> list[Pick] | None:
    """Who takes each seat in `drop` (R1) with `stay` re-seated beside them, or None when nobody can."""
    ctx = fr.ctx
    relaxed = replace(ctx, lower=tuple(0 for _ in ctx.lower), feasible_cache={})  # rules but partial seating
    row = [job.eidx(s["expert"]) for s in (*job.kept, *stay)]
    used = job.barred | job.reserved
    lists: list[Open] = []
    for leaving in drop:
        cands = _ordered(job, ctx, leaving, used)
        ok = _legal(relaxed, row, np.array([a for a, _ in cands], np.int64))
        legal = [c for c, good in zip(cands, ok.tolist(), strict=True) if good]
        if not legal:
            return None
        union = int(np.bitwise_or.reduce(ctx.reach[[a for a, _ in legal]]))
        lists.append((leaving, legal, union))
    lists.sort(key=lambda x: len(x[1]))  # the most constrained seat first: fewer dead ends
    movers = [job.eidx(s["expert"]) for s in stay]
    origins: list[int | None] = [origin[s["expert"]] for s in stay]
    return _search(job, fr, relaxed, lists, 0, movers, origins, row, [])


def _search(job: Job, fr: Frame, relaxed: SiteContext, lists: list[Open], t: int, movers: list[int],
            origins: list[int | None], row: list[int], picks: list[Pick]) -> list[Pick] | None:
    """Depth-first over the seats in `lists` from the t-th on, each trying its candidates in R1 order."""
    if t == len(lists):
        return picks
    leaving, legal, _ = lists[t]
    taken = {p[1] for p in picks}
    cands = [c for c in legal if c[0] not in taken]
    ok = _legal(relaxed, row, np.array([a for a, _ in cands], np.int64)) if t else np.ones(len(cands), bool)
    later = [u for _, _, u in lists[t + 1:]]  # what the seats still to fill could reach, at best
    for (a, source), good in zip(cands, ok.tolist(), strict=True):
        if not good:
            continue
        if job.exhausted:
            return None
        job.steps += 1
        if fr.seat([*movers, a], [*origins, None], later) is None:
            continue
        found = _search(job, fr, relaxed, lists, t + 1, [*movers, a], [*origins, None], [*row, a],
                        [*picks, (leaving, a, source)])
        if found is not None:
            return found
    return None
