"""A project seen through one choice of sites: pools, reach types, quotas and capacities."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import floor

import numpy as np

from scheduler.solver.eligibility import Eligibility
from scheduler.solver.problem import Problem, ProjectSpec, sorted_unique
from scheduler.solver.seating import RoomUsage, site_free


@dataclass(eq=False)
class SiteContext:
    """Everything the sampler and the CP-SAT models need for (project, sites)."""

    problem: Problem
    project: ProjectSpec
    sites: tuple[int, ...]  # sites[0] is the main site
    reach: np.ndarray  # per expert: bit s set when within max_travel_km of sites[s] (S3)
    pools: tuple[np.ndarray, ...]  # per need: eligible experts able to sit at some project site
    lower: tuple[int, ...]
    upper: tuple[int, ...]
    room_free: tuple[dict[int, int], ...]
    max_local: int
    local: np.ndarray
    familiar: np.ndarray  # sorted pair keys restricted to the pools
    feasible_cache: dict[object, bool] = field(default_factory=dict)

    @property
    def drawn(self) -> int:
        """Number of drawn experts (seats of all needs)."""
        return sum(nd.count for nd in self.project.needs)

    @property
    def counts(self) -> tuple[int, ...]:
        """Seats per need."""
        return tuple(nd.count for nd in self.project.needs)


def floor_share(share: Fraction, n: int) -> int:
    """⌊share · n⌋ computed exactly."""
    return floor(share * n)


def quotas(problem: Problem, p: ProjectSpec, n_sites: int, drawn: int) -> tuple[list[int], list[int]]:
    """Per-site lower and upper head counts of S2 before room capacities."""
    r = problem.rules
    if n_sites == 1:
        return [max(r.min_main, drawn) if drawn else 0], [drawn]
    upper_main = max(r.min_main, floor_share(r.max_main_share, drawn))
    return [r.min_main] + [r.min_per_aux_site] * (n_sites - 1), [upper_main] + [drawn] * (n_sites - 1)


def site_capacity(free: dict[int, int], reps: int) -> int:
    """Experts a site can take in its best room; -1 when even the representatives find no room.

    The tenderer representatives sit in the main site's room (S2), so they take its seats too. A
    site without a usable room can still be part of the project if its minimum is 0.
    """
    best = max(free.values(), default=0)
    if reps:
        return best - reps if best >= reps else -1
    return max(best, 0)


def build(
    problem: Problem,
    p: ProjectSpec,
    sites: tuple[int, ...],
    elig: Eligibility,
    usage: RoomUsage,
    familiar_all: np.ndarray,
) -> SiteContext:
    """Assemble the context; pools already respect E1–E9, C3 and S3."""
    rules = problem.rules
    within = problem.experts.dist_km[:, list(sites)] <= rules.max_travel_km
    reach = (within * (1 << np.arange(len(sites)))).sum(axis=1).astype(np.int64)
    usable = elig.ok & (reach > 0)
    local = problem.experts.region4 == p.region4
    max_local = floor_share(rules.max_local_share, sum(nd.count for nd in p.needs))
    if max_local == 0:
        usable &= ~local  # S6 admits no local expert at all: leaving them out changes no legal committee
    pools = tuple(nd.matches[usable[nd.matches]] for nd in p.needs)
    drawn = sum(nd.count for nd in p.needs)
    lower, upper = quotas(problem, p, len(sites), drawn)
    frees = tuple(site_free(problem, usage, s, p.start, p.end) for s in sites)
    for i, free in enumerate(frees):
        upper[i] = min(upper[i], site_capacity(free, p.reps if i == 0 else 0))
    union = sorted_unique(np.concatenate(pools)) if pools else np.zeros(0, np.int64)
    n = problem.experts.n
    if familiar_all.size and union.size:
        keep = np.isin(familiar_all // n, union) & np.isin(familiar_all % n, union)
        familiar = familiar_all[keep]
    else:
        familiar = np.zeros(0, np.int64)
    return SiteContext(
        problem=problem,
        project=p,
        sites=sites,
        reach=reach,
        pools=pools,
        lower=tuple(lower),
        upper=tuple(upper),
        room_free=frees,
        max_local=max_local,
        local=local,
        familiar=familiar,
    )
