"""A day plan: projects drawn one by one in a seeded random order, then their alternates (D2)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

from scheduler.solver.context import SiteContext, build
from scheduler.solver.eligibility import familiar_pairs, individual
from scheduler.solver.problem import Intervals, Problem
from scheduler.solver.project import DayState, DrawConfig, Outcome, draw_project
from scheduler.solver.sampler import legal_rows
from scheduler.solver.seating import RoomUsage


def rng_for(seed: bytes, label: str) -> np.random.Generator:
    """An independent generator per purpose, derived from the seed by SHA-256 (stable across runs)."""
    digest = hashlib.sha256(b"yidi-draw/1\x00" + seed + b"\x00" + label.encode("utf-8")).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "big")))


ALT_CHUNK = 64


def valid_alternates(
    ctx: SiteContext, committee: np.ndarray, offset: int, count: int, cand: np.ndarray
) -> np.ndarray:
    """For each candidate: does swapping it for EVERY member of the need keep the committee legal (D2)?"""
    rows = np.repeat(committee[None, :], cand.shape[0] * count, axis=0)
    which = np.tile(np.arange(count), cand.shape[0])
    rows[np.arange(rows.shape[0]), offset + which] = np.repeat(cand, count)
    return np.asarray(legal_rows(ctx, rows).reshape(cand.shape[0], count).all(axis=1))


def solve_day(
    problem: Problem,
    project_ids: tuple[str, ...],
    seed: bytes,
    cfg: DrawConfig,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[int, Outcome], list[int]]:
    """Draw every project; returns outcomes by project index and the order they were drawn in."""
    order = rng_for(seed, "order").permutation(len(problem.projects)).tolist()
    state = DayState(usage=RoomUsage.from_problem(problem))
    outcomes: dict[int, Outcome] = {}
    usage_rows: dict[int, list[int]] = {}
    for pi in order:
        p = problem.projects[pi]
        before = len(state.usage.room)
        out, _, _ = draw_project(problem, p, state, rng_for(seed, f"project:{project_ids[pi]}"), cfg)
        outcomes[pi] = out
        usage_rows[pi] = list(range(before, len(state.usage.room)))
        if progress:
            progress(1)
    _alternates(problem, project_ids, seed, order, outcomes, state, usage_rows)
    return outcomes, order


def _others(outcomes: dict[int, Outcome], problem: Problem, skip: int) -> Intervals:
    ex: list[int] = []
    st: list[int] = []
    en: list[int] = []
    for pi, out in outcomes.items():
        if pi == skip or out.status != "drawn":
            continue
        q = problem.projects[pi]
        ex.extend(out.seat_site)
        st.extend([q.start] * len(out.seat_site))
        en.extend([q.end] * len(out.seat_site))
    return Intervals(np.array(ex, np.int64), np.array(st, np.int64), np.array(en, np.int64))


def _alternates(
    problem: Problem,
    project_ids: tuple[str, ...],
    seed: bytes,
    order: list[int],
    outcomes: dict[int, Outcome],
    state: DayState,
    usage_rows: dict[int, list[int]],
) -> None:
    want = problem.rules.alternates_per_need
    buffer_s = problem.rules.travel_buffer_minutes * 60
    alt_e: list[int] = []
    alt_s: list[int] = []
    alt_t: list[int] = []
    for pi in order:
        out = outcomes[pi]
        if out.status != "drawn":
            continue
        p = problem.projects[pi]
        own = set(usage_rows[pi])
        usage = RoomUsage(
            *[[v for i, v in enumerate(col) if i not in own]
              for col in (state.usage.room, state.usage.seats, state.usage.start, state.usage.end)]
        )
        # Alternates must be legal against everyone else's final seats, not just earlier ones.
        elig = individual(problem, p, _others(outcomes, problem, pi))
        ctx = build(problem, p, out.sites, elig, usage, familiar_pairs(problem, p.start, state.pair_cache))
        committee = np.array([e for need in out.members for e in need], np.int64)
        taken = set(committee.tolist())
        ae, as_, at = np.array(alt_e, np.int64), np.array(alt_s, np.int64), np.array(alt_t, np.int64)
        clash = set(ae[(as_ < p.end + buffer_s) & (at > p.start - buffer_s)].tolist())
        rng = rng_for(seed, f"alternates:{project_ids[pi]}")
        offset = 0
        out.alternates = []
        for j, need in enumerate(out.members):
            pool = ctx.pools[j]
            shuffled = pool[rng.permutation(pool.shape[0])]
            chosen: list[int] = []
            # Candidates are judged in chunks (vectorised), but taken strictly in shuffled order.
            for lo in range(0, shuffled.shape[0], ALT_CHUNK):
                if len(chosen) >= want:
                    break
                cand = np.array([a for a in shuffled[lo:lo + ALT_CHUNK].tolist() if a not in taken and a not in clash],
                                np.int64)
                if not cand.size:
                    continue
                valid = valid_alternates(ctx, committee, offset, len(need), cand)
                for a in cand[valid].tolist():
                    if len(chosen) < want:
                        chosen.append(a)
                        taken.add(a)
            if len(chosen) < want:
                out.warnings.append(
                    "D2: only %d alternate(s) for need %s (wanted %d): the eligible pool is exhausted"
                    % (len(chosen), p.needs[j].code, want)
                )
            out.alternates.append(chosen)
            offset += len(need)
        for a in (e for lst in out.alternates for e in lst):
            alt_e.append(a)
            alt_s.append(p.start)
            alt_t.append(p.end)
