"""Bulk eligibility (rules E1–E9) of every expert for one project, with per-rule counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scheduler.solver.problem import Intervals, Problem, ProjectSpec

E_RULES = ("E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8", "E9")
DAY = 86_400


@dataclass(frozen=True, eq=False)
class Eligibility:
    """`ok[e]` is True when expert e passes every E rule; `fails[rule][e]` when e fails that rule."""

    ok: np.ndarray
    fails: dict[str, np.ndarray]


def _age_ok(problem: Problem, p: ProjectSpec) -> np.ndarray:
    ex = problem.experts
    y, m, d = p.eval_ymd
    before_birthday = (ex.birth_m > m) | ((ex.birth_m == m) & (ex.birth_d > d))
    age = y - ex.birth_y - before_birthday.astype(np.int64)
    return age <= problem.rules.max_age


def _window_counts(problem: Problem, start: int, days: int, tenderer: int | None) -> np.ndarray:
    h = problem.history
    lo = np.searchsorted(h.member_start, start - days * DAY, side="left")
    hi = np.searchsorted(h.member_start, start, side="left")
    members = h.member_expert[lo:hi]
    if tenderer is not None:
        members = members[h.member_tenderer[lo:hi] == tenderer]
    return np.bincount(members, minlength=problem.experts.n)


def _overlapping(iv: Intervals, start: int, end: int, buffer_s: int) -> np.ndarray:
    hit = (iv.start < end + buffer_s) & (iv.end > start - buffer_s)
    return iv.expert[hit]


def individual(problem: Problem, p: ProjectSpec, busy: Intervals) -> Eligibility:
    """Evaluate E1–E9 for all experts at once; `busy` holds seats already taken in this day plan."""
    rules = problem.rules
    ex = problem.experts
    n = ex.n
    fails: dict[str, np.ndarray] = {}
    fails["E1"] = ~ex.active | ex.penalized
    fails["E2"] = ~_age_ok(problem, p)
    parties = np.array(sorted({p.tenderer, p.agent, *p.bidders} - {-1}), np.int64)
    fails["E3"] = np.isin(ex.employer, parties) & (ex.employer >= 0)
    e4 = np.zeros(n, bool)
    if problem.rel_expert.size:
        counts = np.isin(problem.rel_org, parties) & (p.eval_date <= problem.rel_until)
        e4[problem.rel_expert[counts]] = True
    fails["E4"] = e4
    fails["E5"] = np.isin(ex.employer, np.array(p.supervisors, np.int64)) & (ex.employer >= 0)
    fails["E6"] = _window_counts(problem, p.start, 30, None) >= rules.max_per_30d
    fails["E7"] = _window_counts(problem, p.start, 365, p.tenderer) >= rules.max_same_tenderer_365d
    e8 = np.zeros(n, bool)
    if problem.leave_expert.size:
        on_leave = (problem.leave_from <= p.end_date) & (problem.leave_to >= p.eval_date)
        e8[problem.leave_expert[on_leave]] = True
    buffer_s = rules.travel_buffer_minutes * 60
    e8[_overlapping(problem.engagements, p.start, p.end, buffer_s)] = True
    if busy.expert.size:
        e8[_overlapping(busy, p.start, p.end, buffer_s)] = True
    fails["E8"] = e8
    e9 = np.zeros(n, bool)
    if p.excluded:
        e9[np.array(p.excluded, np.int64)] = True
    fails["E9"] = e9
    ok = np.ones(n, bool)
    for mask in fails.values():
        ok &= ~mask
    return Eligibility(ok=ok, fails=fails)


def familiar_pairs(problem: Problem, start: int, cache: dict[tuple[int, int], np.ndarray]) -> np.ndarray:
    """Sorted keys (lo·n + hi) of pairs who sat together ≥ familiar_pair_count times (P2)."""
    h = problem.history
    rules = problem.rules
    lo = int(np.searchsorted(h.pair_start, start - rules.familiar_pair_days * DAY, side="left"))
    hi = int(np.searchsorted(h.pair_start, start, side="left"))
    # Projects of one day share few distinct windows; caching by slice avoids recounting.
    if (lo, hi) not in cache:
        keys, counts = np.unique(h.pair_key[lo:hi], return_counts=True)
        cache[(lo, hi)] = keys[counts >= rules.familiar_pair_count]
    return cache[(lo, hi)]
