"""Pure helpers of the independent checker: parameters, geometry, dates, load peaks and the seating search.

Like tests/checker.py, written from the spec text alone, sharing no code with the scheduler.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from config.rules import RuleParams

RESULT_FORMAT = "draw-result/1"
EARTH_RADIUS_KM = 6371.0088
Interval = tuple[datetime, datetime, int]


@dataclass(frozen=True)
class Violation:
    """One broken rule: its id, the project (None when day-wide) and a readable detail."""

    rule: str
    project: str | None
    detail: str


def effective_params(instance: dict[str, Any], defaults: dict[str, Any] | None = None) -> RuleParams:
    """RuleParams defaults, then deployment `defaults`, then the instance's `rules` (unknown keys ignored)."""
    data = RuleParams().model_dump()
    for layer in (defaults or {}, instance.get("rules") or {}):
        for key, value in layer.items():
            # A partial min_size override keeps the other procedures' minimums.
            merge = key == "min_size" and isinstance(value, dict)
            data[key] = {**data["min_size"], **value} if merge else value
    return RuleParams.model_validate(data)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km on a sphere of radius 6371.0088 km."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dlon = math.radians(lon2 - lon1)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


def add_years(day: date, years: int) -> date:
    """`day` plus calendar years, 29 February mapping to 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def age_on(birth: date, day: date) -> int:
    """Completed years of age on `day`."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def peak_load(intervals: Iterable[Interval]) -> tuple[int, datetime | None]:
    """Highest simultaneous sum over half-open [start, end) loads, and the first moment it is reached."""
    events: list[tuple[datetime, int, int]] = []
    for start, end, load in intervals:
        if end > start and load:
            events += [(start, 1, load), (end, 0, -load)]
    events.sort(key=lambda ev: (ev[0], ev[1]))  # at one instant, what ends frees its seats first
    current, best, moment = 0, 0, None
    for when, _, delta in events:
        current += delta
        if current > best:
            best, moment = current, when
    return best, moment


def seating_exists(allowed: list[frozenset[str]], lo: dict[str, int], hi: dict[str, int]) -> bool:
    """Whether every expert can take one of its allowed sites with lo[s] <= count(s) <= hi[s] for all s."""
    sites = sorted(lo)
    if any(not (a & set(sites)) for a in allowed) or any(lo[s] > hi[s] for s in sites):
        return False
    kinds = Counter(allowed)
    n = len(allowed)
    # Circulation with lower bounds: src -> kind [count, count], kind -> site [0, n],
    # site -> sink [lo, hi], sink -> src [0, n]; feasible iff the super-source edges saturate.
    src, sink, ssrc, ssink = 0, 1, 2, 3
    kind_node = {k: 4 + i for i, k in enumerate(kinds)}
    site_node = {s: 4 + len(kinds) + i for i, s in enumerate(sites)}
    size = 4 + len(kinds) + len(sites)
    cap: dict[tuple[int, int], int] = defaultdict(int)
    adj: list[set[int]] = [set() for _ in range(size)]
    excess = [0] * size

    def edge(u: int, v: int, low: int, high: int) -> None:
        cap[(u, v)] += high - low
        adj[u].add(v)
        adj[v].add(u)
        excess[v] += low
        excess[u] -= low

    for kind, count in kinds.items():
        edge(src, kind_node[kind], count, count)
        for s in kind & set(sites):
            edge(kind_node[kind], site_node[s], 0, n)
    for s in sites:
        edge(site_node[s], sink, lo[s], hi[s])
    edge(sink, src, 0, n)
    demand = 0
    for v in range(size):
        if excess[v] > 0:
            edge(ssrc, v, 0, excess[v])
            demand += excess[v]
        elif excess[v] < 0:
            edge(v, ssink, 0, -excess[v])
    return _max_flow(cap, adj, ssrc, ssink) == demand


def _max_flow(cap: dict[tuple[int, int], int], adj: list[set[int]], s: int, t: int) -> int:
    flow = 0
    while True:
        parent = {s: s}
        queue = deque([s])
        while queue and t not in parent:
            u = queue.popleft()
            for v in adj[u]:
                if v not in parent and cap[(u, v)] > 0:
                    parent[v] = u
                    queue.append(v)
        if t not in parent:
            return flow
        path, v = [], t
        while v != s:
            path.append((parent[v], v))
            v = parent[v]
        push = min(cap[e] for e in path)
        for u, v in path:
            cap[(u, v)] -= push
            cap[(v, u)] += push
        flow += push
