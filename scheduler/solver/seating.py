"""Sites and rooms (S1–S4): room availability, seating feasibility and the travel-minimal seating."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from scheduler.solver.problem import Problem


@dataclass
class RoomUsage:
    """Seats taken in rooms over time: room bookings plus projects already seated."""

    room: list[int]
    seats: list[int]
    start: list[int]
    end: list[int]

    @classmethod
    def from_problem(cls, problem: Problem) -> RoomUsage:
        """Start from the instance's room bookings."""
        return cls(
            room=problem.room_booking_room.tolist(),
            seats=problem.room_booking_seats.tolist(),
            start=problem.room_booking_start.tolist(),
            end=problem.room_booking_end.tolist(),
        )

    def add(self, room: int, seats: int, start: int, end: int) -> None:
        """Record `seats` taken in `room` during [start, end)."""
        self.room.append(room)
        self.seats.append(seats)
        self.start.append(start)
        self.end.append(end)

    def peak(self, room: int, start: int, end: int, skip: set[int] | None = None) -> int:
        """Most seats taken at any moment of [start, end) (rule S4 is per moment, not per sum)."""
        rows = [
            i for i, r in enumerate(self.room)
            if r == room and self.start[i] < end and self.end[i] > start and (skip is None or i not in skip)
        ]
        if not rows:
            return 0
        moments = {start} | {self.start[i] for i in rows if self.start[i] > start}
        return max(sum(self.seats[i] for i in rows if self.start[i] <= t < self.end[i]) for t in moments)


def room_free(problem: Problem, usage: RoomUsage, room: int, start: int, end: int) -> int:
    """Seats of `room` still free throughout [start, end)."""
    return int(problem.rooms.seats[room]) - usage.peak(room, start, end)


def site_free(problem: Problem, usage: RoomUsage, site: int, start: int, end: int) -> dict[int, int]:
    """Free seats of each room of `site` during [start, end)."""
    return {r: room_free(problem, usage, r, start, end) for r in problem.sites.rooms[site]}


def pick_room(free: dict[int, int], needed: int) -> int | None:
    """Smallest room that fits `needed` people (keeps big rooms for later projects); None if none."""
    fitting = [(seats, r) for r, seats in free.items() if seats >= needed]
    return min(fitting)[1] if fitting else None


def _max_flow(cap: list[dict[int, int]], source: int, sink: int, flow: list[dict[int, int]]) -> int:
    pushed = 0
    n = len(cap)
    while True:
        parent = [-1] * n
        parent[source] = source
        queue = deque([source])
        while queue and parent[sink] < 0:
            u = queue.popleft()
            for v, c in cap[u].items():
                if parent[v] < 0 and c - flow[u].get(v, 0) > 0:
                    parent[v] = u
                    queue.append(v)
        if parent[sink] < 0:
            return pushed
        v = sink
        while v != source:
            u = parent[v]
            flow[u][v] = flow[u].get(v, 0) + 1
            flow[v][u] = flow[v].get(u, 0) - 1
            v = u
        pushed += 1


def types_feasible(types: Sequence[int], counts: Sequence[int], lower: Sequence[int], upper: Sequence[int]) -> bool:
    """Can experts, `counts[i]` of reach type `types[i]` (bit s = may sit at site s), meet per-site [lower, upper]?"""
    return _types_feasible(tuple(types), tuple(counts), tuple(lower), tuple(upper))


def _graph(types: Sequence[int], counts: Sequence[int], k: int) -> tuple[list[dict[int, int]], int, int]:
    """Flow network source → reach types → sites → sink; returns (capacities, first site node, sink)."""
    total = sum(counts)
    first_site = 1 + len(types)
    sink = first_site + k
    cap: list[dict[int, int]] = [dict() for _ in range(sink + 1)]
    for i, (t, c) in enumerate(zip(types, counts, strict=True)):
        cap[0][1 + i] = c
        cap[1 + i].setdefault(0, 0)
        for s in range(k):
            if t >> s & 1:
                cap[1 + i][first_site + s] = total
                cap[first_site + s].setdefault(1 + i, 0)
    for s in range(k):
        cap[first_site + s][sink] = 0
        cap[sink].setdefault(first_site + s, 0)
    return cap, first_site, sink


@lru_cache(maxsize=65536)
def _types_feasible(
    types: tuple[int, ...], counts: tuple[int, ...], lower: tuple[int, ...], upper: tuple[int, ...]
) -> bool:
    # Pure in its arguments, so one cache serves every project of a day plan.
    k = len(lower)
    total = sum(counts)
    if total < sum(lower) or total > sum(upper):
        return False
    cap, first_site, sink = _graph(types, counts, k)
    for s in range(k):
        cap[first_site + s][sink] = lower[s]
    flow: list[dict[int, int]] = [dict() for _ in range(sink + 1)]
    # Augmenting paths never lower a site's inflow, so meeting the lower bounds first and then
    # raising capacities to the upper bounds decides feasibility with lower bounds exactly.
    if _max_flow(cap, 0, sink, flow) < sum(lower):
        return False
    for s in range(k):
        cap[first_site + s][sink] = upper[s]
    return sum(lower) + _max_flow(cap, 0, sink, flow) == total


def minimums_coverable(types: Sequence[int], counts: Sequence[int], lower: Sequence[int]) -> bool:
    """Can distinct experts (`counts[i]` available of reach type `types[i]`) fill every site's minimum at once?"""
    cap, first_site, sink = _graph(types, counts, len(lower))
    for s, lo in enumerate(lower):
        cap[first_site + s][sink] = lo
    flow: list[dict[int, int]] = [dict() for _ in range(sink + 1)]
    return _max_flow(cap, 0, sink, flow) >= sum(lower)


def seat_min_travel(
    dist: np.ndarray, reach: np.ndarray, lower: Sequence[int], upper: Sequence[int]
) -> list[int] | None:
    """Assign each expert (row of `dist`, km to each project site) a site, minimising total travel."""
    from ortools.graph.python import min_cost_flow

    n, k = dist.shape
    mcf = min_cost_flow.SimpleMinCostFlow()
    sink = n + k
    arcs = []
    for e in range(n):
        for s in range(k):
            if reach[e] >> s & 1:
                arcs.append((e, s, mcf.add_arc_with_capacity_and_unit_cost(e, n + s, 1, int(round(dist[e, s] * 1000)))))
    for s in range(k):
        mcf.add_arc_with_capacity_and_unit_cost(n + s, sink, int(upper[s]) - int(lower[s]), 0)
    for e in range(n):
        mcf.set_node_supply(e, 1)
    for s in range(k):
        mcf.set_node_supply(n + s, -int(lower[s]))
    mcf.set_node_supply(sink, -(n - int(sum(lower))))
    if mcf.solve() != mcf.OPTIMAL:
        return None
    out = [-1] * n
    for e, s, arc in arcs:
        if mcf.flow(arc):
            out[e] = s
    return out
