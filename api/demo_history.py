"""The demo province's past year of committees and the other engagements of experts and rooms on the day."""

from __future__ import annotations

import datetime as dt
import math
from itertools import combinations

import numpy as np

from api import demo_catalog as cat
from api.demo_catalog import World, stamp
from api.demo_experts import weighted_draw

HOLIDAYS = frozenset({(1, 1), (1, 2), (5, 1), (5, 2), (5, 3), (10, 1), (10, 2), (10, 3), (10, 4), (10, 5)})
SESSIONS = (((540, 720), (540, 690), (570, 720)), ((840, 1050), (840, 1020), (870, 1050)))
SESSION_WINDOW = ((540, 720), (840, 1050))
SEATS_PER_YEAR = 9.5


def _interleave(own: int, other: int) -> np.ndarray:
    """Row q: column order taking q own candidates, then all the others, then the remaining own ones."""
    return np.array([[*range(q), *range(own, own + other), *range(q, own)] for q in range(own + 1)])


def build_history(w: World) -> None:
    """Past committees over the year before the day: ~9 seats per active expert, in local circles."""
    nrng, n = w.nrng, len(w.experts)
    # A heavy-tailed activity per expert so that a few reach the E6 limit; the out-of-pool ones sat less.
    activity = nrng.gamma(1.6, 1.0, n) * np.array([1.0, 0.5, 0.1, 0.1])[w.ex_status]
    activity *= np.where(w.ex_age > 65, 0.25, 1.0)
    units = sorted({r.pref for r in w.regions})
    unit_of = np.array([units.index(r.pref) for r in w.regions])[w.ex_region]
    centre = [np.mean([(r.lat, r.lon) for r in w.regions if r.pref == u], axis=0) for u in units]
    near = np.array([sorted((v for v in range(len(units)) if v != u),
                            key=lambda v: math.dist(centre[u], centre[v]))[:3] for u in range(len(units))])
    groups = sorted(cat.GROUPS)
    group_at = {g: k for k, g in enumerate(groups)}
    eg = np.full((n, 3), -1, np.int64)
    for i, e in enumerate(w.experts):
        gs = sorted({group_at[c[:3]] for c in e["specialties"]})
        eg[i, : len(gs)] = gs
    ng = (eg >= 0).sum(axis=1)
    rows, cols = np.nonzero(eg >= 0)
    keys = unit_of[rows] * len(groups) + eg[rows, cols]
    order = np.argsort(keys, kind="stable")
    pools: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for key, idx in zip(*np.unique(keys[order], return_index=True), strict=True):
        members = rows[order][idx: np.searchsorted(keys[order], key, side="right")]
        pools[int(key)] = (members, np.cumsum(activity[members]))
    unit_experts = [np.flatnonzero(unit_of == u) for u in range(len(units))]
    c = round(SEATS_PER_YEAR * float((w.ex_status == 0).sum()) / 6.5)
    cu = weighted_draw(nrng, np.cumsum([activity[x].sum() for x in unit_experts]), c)
    cv = near[cu, nrng.integers(near.shape[1], size=c)]
    anchor = np.zeros(c, np.int64)
    tenderer = np.zeros(c, np.int64)
    public: list[list[int]] = [[] for _ in units]
    for o, ri in enumerate(w.org_region):
        if w.org_tag[o]:
            public[units.index(w.regions[ri].pref)].append(o)
    for u, pub in enumerate(public):
        sel = np.flatnonzero(cu == u)
        anchor[sel] = unit_experts[u][weighted_draw(nrng, np.cumsum(activity[unit_experts[u]]), len(sel))]
        tenderer[sel] = np.array(pub)[weighted_draw(nrng, np.cumsum([w.org_activity[o] for o in pub]), len(sel))]
    g1 = eg[anchor, (nrng.random(c) * ng[anchor]).astype(np.int64)]
    g2 = np.where(np.array([g[0] == "A" for g in groups])[g1], groups.index("A09"), groups.index("C04"))
    size = nrng.choice((5, 7, 9), size=c, p=(0.55, 0.33, 0.12))
    k2 = np.where((nrng.random(c) < 0.5) & (g2 != g1), nrng.integers(1, 3, size=c), 0)
    # Candidates per committee: own prefecture and a neighbouring one, for the main and the second group.
    cands = []
    for src, grp, k in ((cu, g1, 11), (cv, g1, 6), (cu, g2, 4), (cv, g2, 2)):
        out = np.full((c, k), -1, np.int64)
        keys = src * len(groups) + grp
        by_key = np.argsort(keys, kind="stable")
        firsts = np.unique(keys[by_key], return_index=True)
        for key, lo, hi in zip(*firsts, [*firsts[1][1:], c], strict=True):
            if int(key) in pools:
                members, cum = pools[int(key)]
                out[by_key[lo:hi]] = members[weighted_draw(nrng, cum, (hi - lo, k))]
        cands.append(out)
    # ... tried in this order: about 60% from the own prefecture first, then the neighbour, then the rest.
    first = np.column_stack([anchor, cands[0], cands[1]])  # 12 own, 6 other
    second = np.column_stack([cands[2], cands[3]])  # 4 own, 2 other
    count1, count2 = size - k2, k2
    quota1, quota2 = (np.ceil(0.6 * x).astype(np.int64) for x in (count1, count2))
    seq1 = np.take_along_axis(first, _interleave(12, 6)[quota1], axis=1).tolist()
    seq2 = np.take_along_axis(second, _interleave(4, 2)[quota2], axis=1).tolist()
    days = [w.day - dt.timedelta(days=k) for k in range(364, 0, -1)]
    days = [d for d in days if d.weekday() < 5 and (d.month, d.day) not in HOLIDAYS]
    day_of = nrng.integers(len(days), size=c)
    slot = (nrng.random(c) >= 0.58).astype(np.int64)
    variant = nrng.choice(3, size=c, p=(0.7, 0.15, 0.15)).tolist()
    minute = (np.array([d.toordinal() for d in days])[day_of] * 1440 + np.where(slot == 0, 540, 840)).tolist()
    past: list[list[int]] = [[] for _ in range(n)]
    no = len(w.org_names)
    once: set[int] = set()  # expert * no + tenderer: sat on one committee of that tenderer
    twice: set[int] = set()  # ... on two (E7 bars a third)
    last_met: dict[int, int] = {}  # pair key -> when the two last sat together
    met_before: list[dict[int, int]] = [{} for _ in range(n)]  # e -> {x: when they sat together before that}
    tenderers, counts = tenderer.tolist(), np.column_stack([count1, count2]).tolist()
    # In time order, and only committees the rules would have allowed (E6, E7, P2, one seat at a time):
    # the history reads as the output of earlier draws.
    for j in np.lexsort((slot, day_of)).tolist():
        t, ten = minute[j], tenderers[j]
        t30, t180 = t - 30 * 1440, t - 180 * 1440
        chosen: list[int] = []
        for count, seq in zip(counts[j], (seq1[j], seq2[j]), strict=True):
            got = 0
            for x in seq:
                if got == count:
                    break
                if x < 0 or x in chosen or x * no + ten in twice:
                    continue
                seen, met = past[x], met_before[x]
                if seen and (seen[-1] == t or (len(seen) >= 4 and seen[-4] >= t30)):
                    continue
                if met and not met.keys().isdisjoint(chosen) and any(met.get(y, -1) >= t180 for y in chosen):
                    continue  # P2: these two sat together twice within 180 days
                chosen.append(x)
                got += 1
        if len(chosen) < 3:  # only in tiny provinces: no committee to speak of
            continue
        chosen.sort()
        for x in chosen:
            past[x].append(t)
            key = x * no + ten
            if key in once:
                twice.add(key)
            once.add(key)
        for x, y in combinations(chosen, 2):
            key = x * n + y
            before = last_met.get(key)
            if before is not None:
                met_before[x][y] = met_before[y][x] = before
            last_met[key] = t
        start, end = SESSIONS[int(slot[j])][variant[j]]
        w.history.append((days[day_of[j]], start, end, ten, chosen))


def build_bookings(w: World) -> None:
    """Other engagements of ~1% of the experts on the day, and a few rooms partly taken."""
    rng = w.rng
    windows = ((480, 660), (510, 630), (810, 960), (900, 1080), (540, 1020), (1140, 1260))
    for i in sorted(rng.sample(range(len(w.experts)), round(0.01 * len(w.experts)))):
        start, end = rng.choice(windows)
        w.bookings.append((i, start, end))
    rooms = [r for s in w.sites if s["active"] for r in s["rooms"]]
    for room in rng.sample(rooms, min(len(rooms), max(2, len(rooms) // 12))):
        start, end = rng.choice(((510, 720), (840, 1050), (510, 1050)))
        w.room_bookings.append({"room": room["id"], "seats": rng.randint(2, max(2, room["seats"] // 2)),
                                "start": stamp(w.day, start), "end": stamp(w.day, end)})
