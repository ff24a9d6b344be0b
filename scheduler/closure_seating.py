"""Joint re-seating after a closure (S1–S4): where displaced experts can sit beside the seats that stay.

The seats that stay fix their site's room and count; the displaced experts (and any replacements)
are placed all at once by the draw's travel-minimal min-cost flow (scheduler.solver.seating), so a
legal arrangement that needs several moves together is always found when one exists. When a kept
group's room has too few free seats, a variant of the frame lets that group (kept experts, incoming
ones and, at the main site, the representatives) move together to another room of the same site
(S1: one room per site), the smallest that fits as in the draw; the kept experts keep their site.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
from typing import Any

import numpy as np

from scheduler.encoder import IdMaps
from scheduler.solver.context import SiteContext, build, quotas, site_capacity
from scheduler.solver.eligibility import Eligibility
from scheduler.solver.problem import Problem, ProjectSpec
from scheduler.solver.seating import RoomUsage, pick_room, seat_min_travel


@dataclass(eq=False)
class Frame:
    """One choice of the project's remaining sites with the seats that stay fixed in it."""

    ctx: SiteContext
    aux: list[str]  # auxiliary site codes of this choice
    kept: list[int]  # per ctx site: experts staying there
    fixed: dict[int, int]  # ctx site position -> the room its staying experts hold (S1)
    cap: list[int]  # per ctx site: most experts in all (S2 quota and S4 free seats)
    quota: list[int]  # per ctx site: most experts by S2 alone
    moved_from: dict[int, int] = field(default_factory=dict)  # ctx site position -> kept room it may leave

    @property
    def kept_moved(self) -> int:
        """Kept experts whose room this variant may change (the variants' order: fewest first)."""
        return sum(self.kept[i] for i in self.moved_from)

    def variants(self) -> list[Frame]:
        """This frame, then the frames letting kept groups change room, fewest kept experts moved first.

        Only groups whose site has a room with more free seats than their own are worth moving.
        """
        free = self.ctx.room_free
        gain = [i for i in sorted(self.fixed)
                if min(self.quota[i], site_capacity(free[i], self.reps(i))) > self.cap[i]]
        subsets = [c for n in range(1, len(gain) + 1) for c in combinations(gain, n)]
        subsets.sort(key=lambda c: (sum(self.kept[i] for i in c), sum(self.kept[i] + self.reps(i) for i in c), c))
        out = [self]
        for c in subsets:
            cap = list(self.cap)
            for i in c:
                cap[i] = min(self.quota[i], site_capacity(free[i], self.reps(i)))
            out.append(replace(self, fixed={i: r for i, r in self.fixed.items() if i not in c}, cap=cap,
                               moved_from={i: self.fixed[i] for i in c}))
        return out

    def reps(self, i: int) -> int:
        """Tenderer representatives sitting at ctx site position i (the main site's room: S2)."""
        return self.ctx.project.reps if i == 0 else 0

    @property
    def anywhere(self) -> int:
        """The reach mask of a seat still to fill by someone who may sit at any of the frame's sites."""
        return (1 << len(self.ctx.sites)) - 1

    def seat(self, experts: list[int], origin: list[int | None], wild: Sequence[int] = (), *,
             rooms: bool = True) -> list[int] | None:
        """A ctx site position for each expert, minimising travel, or None when no legal joint seating exists.

        `origin` is each expert's current site (staying there costs nothing, so a group keeps its
        site when it can); `wild` are the reach masks of seats still to fill (bit i: may sit at ctx
        site i), so a partial choice is rejected only when no completion could be seated.
        `rooms=False` drops the free-seat limit (S4) to tell a full site from a full room.
        """
        ctx = self.ctx
        k = len(ctx.sites)
        n = len(experts) + len(wild)
        cap = self.cap if rooms else self.quota
        lo = [max(0, ctx.lower[i] - self.kept[i]) for i in range(k)]
        up = [cap[i] - self.kept[i] for i in range(k)]
        if any(u < lw for lw, u in zip(lo, up, strict=True)) or not sum(lo) <= n <= sum(up):
            return None
        if n == 0:
            return []
        idx = np.array(experts, np.int64)
        dist = np.zeros((n, k))
        dist[:len(experts)] = ctx.problem.experts.dist_km[np.ix_(idx, np.array(ctx.sites))]
        for r, site in enumerate(origin):
            if site is not None and site in ctx.sites:
                dist[r, ctx.sites.index(site)] = 0.0
        reach = np.concatenate([ctx.reach[idx], np.array(wild, np.int64)])
        where = seat_min_travel(dist, reach, lo, up)
        return None if where is None else where[:len(experts)]

    def rooms_for(self, where: list[int]) -> dict[int, int]:
        """The room of each ctx site position holding experts (or the representatives) after `where`."""
        counts = Counter(where)
        out: dict[int, int] = {}
        for i in range(len(self.ctx.sites)):
            total = self.kept[i] + counts[i]
            if i in self.fixed:
                out[i] = self.fixed[i]
            elif i in self.moved_from and self.ctx.room_free[i].get(self.moved_from[i], 0) >= total + self.reps(i):
                out[i] = self.moved_from[i]  # the group still fits its own room: it stays there
            elif total + self.reps(i):
                room = pick_room(self.ctx.room_free[i], total + self.reps(i))
                if room is None:  # seat() bounded the count by the best room, so this is a bug
                    raise RuntimeError(f"no room fits {total} experts at site {self.ctx.sites[i]}")
                out[i] = room
        return out


def frame(problem: Problem, ids: IdMaps, p: ProjectSpec, aux: list[str], kept: list[dict[str, str]],
          elig: Eligibility, usage: RoomUsage, familiar: np.ndarray) -> Frame:
    """The frame of auxiliary sites `aux` with the `kept` seats fixed (usage already blocks closed rooms)."""
    sidx = {s: i for i, s in enumerate(ids.sites)}
    ridx = {r: i for i, r in enumerate(ids.rooms)}
    sites = (p.main_site, *[sidx[a] for a in aux])
    ctx = build(problem, p, sites, elig, usage, familiar)
    pos = {s: i for i, s in enumerate(sites)}
    counts = Counter(pos[sidx[s["site"]]] for s in kept)
    fixed = {pos[sidx[s["site"]]]: ridx[s["room"]] for s in kept}
    _, quota = quotas(problem, p, len(sites), ctx.drawn)
    cap = []
    for i in range(len(sites)):
        reps = p.reps if i == 0 else 0
        # Staying experts fix their site's room (S1); elsewhere the best room bounds the count.
        free = ctx.room_free[i]
        cap.append(min(quota[i], free.get(fixed[i], 0) - reps if i in fixed else site_capacity(free, reps)))
    return Frame(ctx=ctx, aux=aux, kept=[counts[i] for i in range(len(sites))], fixed=fixed, cap=cap,
                 quota=list(quota))


def seats_of(fr: Frame, ids: IdMaps, kept: list[dict[str, str]], movers: list[dict[str, Any]],
             where: list[int]) -> tuple[list[dict[str, str]], str | None, list[dict[str, Any]]]:
    """All seats after `where` (Frame.seat; kept first), the representatives' room when it changes, the room moves."""
    rooms = fr.rooms_for(where)
    sites = fr.ctx.sites
    changed: list[dict[str, Any]] = [
        {"site": ids.sites[sites[i]], "from_room": ids.rooms[old], "to_room": ids.rooms[rooms[i]], "seats": fr.kept[i]}
        for i, old in sorted(fr.moved_from.items()) if rooms.get(i, old) != old]
    moving: dict[str, str] = {c["site"]: c["to_room"] for c in changed}
    stay = [{**k, "room": moving[k["site"]]} if k["site"] in moving else k for k in kept]
    out = [{**m, "site": ids.sites[sites[w]], "room": ids.rooms[rooms[w]]} for m, w in zip(movers, where, strict=True)]
    own = fr.moved_from.get(0)
    reps_room = (ids.rooms[rooms[0]] if 0 not in fr.fixed and 0 in rooms and fr.reps(0) and rooms[0] != own
                 else None)
    return stay + out, reps_room, changed
