"""A realistic demo province as one `draw-instance/1` document: sites, orgs, experts, history, a day."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import random
from collections import Counter
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from api import demo_catalog as cat
from api.demo_catalog import World, stamp
from config.rules import RuleParams

logger = logging.getLogger(__name__)

DAY = dt.date(2026, 11, 23)
HOLIDAYS = frozenset({(1, 1), (1, 2), (5, 1), (5, 2), (5, 3), (10, 1), (10, 2), (10, 3), (10, 4), (10, 5)})
STATUSES = ("active", "suspended", "removed", "blacklisted")
RELATION_KINDS = ("former_employment", "avoid", "shareholder", "director", "relative", "legal_dispute")
SESSIONS = (((540, 720), (540, 690), (570, 720)), ((840, 1050), (840, 1020), (870, 1050)))
SESSION_WINDOW = ((540, 720), (840, 1050))
SEATS_PER_YEAR = 9.5
ROOM_SLACK = 2  # seats per room left for other projects' auxiliary experts
SITE_SLACK = 0.3  # and this share of a site's seats


def _haversine(lat: Any, lon: Any, lats: Any, lons: Any) -> Any:
    # Rule S3's great-circle distance (radius 6371.0088 km), broadcasting over arrays.
    p1, p2 = np.radians(lat), np.radians(lats)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lons - lon) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _weighted(nrng: np.random.Generator, cum: np.ndarray, size: int | tuple[int, ...]) -> np.ndarray:
    """Indices drawn with probabilities proportional to the increments of the cumulative weights `cum`."""
    if len(cum) == 0:  # nothing to draw from (a region without experts in a tiny province)
        return np.zeros(size, np.int64)
    return np.minimum(np.searchsorted(cum, nrng.random(size) * cum[-1], side="right"), len(cum) - 1)


def _interleave(own: int, other: int) -> np.ndarray:
    """Row q: column order taking q own candidates, then all the others, then the remaining own ones."""
    return np.array([[*range(q), *range(own, own + other), *range(q, own)] for q in range(own + 1)])


def build_experts(w: World, n: int) -> None:
    """Experts: homes around their region, ages, status, employer, specialties, leave."""
    regs, nrng = w.regions, w.nrng
    w.ex_ids = [f"E{i + 1:06d}" for i in range(n)]
    region = nrng.choice(len(regs), size=n, p=np.array([r.weight for r in regs]))
    sd = np.array([cat.HOME_SD_KM[r.cls] for r in regs]) * nrng.uniform(0.7, 1.4, len(regs))
    dx, dy = nrng.normal(0, 1, (2, n)) * sd[region]
    clip = np.minimum(1.0, 2.2 * sd[region] / np.maximum(np.hypot(dx, dy), 1e-9))  # stay within 2.2 sd
    lat0 = np.array([r.lat for r in regs])[region]
    lon0 = np.array([r.lon for r in regs])[region]
    w.ex_lat = np.round(lat0 + dy * clip / 111.2, 5)
    w.ex_lon = np.round(lon0 + dx * clip / (111.2 * np.cos(np.radians(lat0))), 5)
    w.ex_region = region
    years = np.clip(nrng.normal(51.0, 8.0, n), 32.0, 70.9)
    birth = np.datetime64(w.day) - (years * 365.25).astype("timedelta64[D]")
    y, m, d = (birth.astype(f"datetime64[{u}]") for u in ("Y", "M", "D"))
    month, mday = (m - y).astype(int) + 1, (d - m).astype(int) + 1
    later = (month > w.day.month) | ((month == w.day.month) & (mday > w.day.day))
    w.ex_age = w.day.year - (y.astype(int) + 1970) - later.astype(int)  # completed years on the day
    w.ex_status = nrng.choice(4, size=n, p=[0.982, 0.010, 0.005, 0.003])
    # Employer: mostly an organisation of the expert's own region, else one elsewhere in its prefecture;
    # about 5% are retired (no employer), all of them older.
    employer = np.full(n, -1, np.int64)
    retired = (years >= 58) & (nrng.random(n) < 0.27)
    emp_region = region.copy()
    for ri, r in enumerate(regs):
        near = [j for j, x in enumerate(regs) if x.pref == r.pref and x.orgs]
        moved = np.flatnonzero((region == ri) & (nrng.random(n) >= 0.85))
        emp_region[moved] = np.array(near)[nrng.integers(len(near), size=len(moved))]
    for ri, r in enumerate(regs):
        rows = np.flatnonzero((emp_region == ri) & ~retired)
        cum = np.cumsum([w.staff_weight(o) for o in r.orgs])
        employer[rows] = np.array(r.orgs)[_weighted(nrng, cum, len(rows))]
    # Specialties: up to six candidates, the first from the employer kind's groups, the others half the
    # time in the same group; an expert keeps the first 1–3 distinct ones.
    kinds = np.array([w.org_kind[o] if o >= 0 else "" for o in employer])
    cand_group = np.empty((n, 6), dtype=object)
    for kind in sorted(set(kinds.tolist())):
        spec = cat.COMPANY_KINDS.get(kind) or cat.PUBLIC_KINDS.get(kind)
        options = np.array(spec.groups if spec else cat.RETIRED_GROUPS, dtype=object)
        rows = np.flatnonzero(kinds == kind)
        cand_group[rows] = options[nrng.integers(len(options), size=(len(rows), 6))]
    same = nrng.random((n, 6)) < 0.5
    same[:, 0] = False
    cand_group[same] = np.broadcast_to(cand_group[:, :1], (n, 6))[same]
    cand = np.empty((n, 6), dtype=object)
    for g, codes in cat.GROUPS.items():
        mask = cand_group == g
        cum = np.cumsum([cat.SPECIALTIES[c][1] for c in codes])
        cand[mask] = np.array(codes, dtype=object)[_weighted(nrng, cum, int(mask.sum()))]
    wanted = nrng.choice((1, 2, 3), size=n, p=(0.45, 0.40, 0.15))
    surname = _weighted(nrng, np.cumsum([1.0 / (k + 2) ** 0.9 for k in range(len(cat.SURNAMES))]), n)
    given = nrng.integers(len(cat.GIVEN), size=(n, 2))
    two = nrng.random(n) < 0.7
    births = birth.astype(str).tolist()
    org_ids = [w.org_id(o) for o in range(len(w.org_names))]
    cand_rows = cand.tolist()
    for i in range(n):
        specs = list(dict.fromkeys(cand_rows[i]))[: wanted[i]]
        name = cat.SURNAMES[surname[i]] + cat.GIVEN[given[i, 0]] + (cat.GIVEN[given[i, 1]] if two[i] else "")
        e = int(employer[i])
        w.experts.append({
            "id": w.ex_ids[i], "name": name, "birth_date": births[i], "region": regs[region[i]].code,
            "lat": float(w.ex_lat[i]), "lon": float(w.ex_lon[i]), "employer": org_ids[e] if e >= 0 else None,
            "specialties": specs, "status": STATUSES[w.ex_status[i]], "leave": [],
        })
    w.ex_employer = employer
    rng = w.rng
    for i in rng.sample(range(n), round(0.03 * n)):  # leave long past
        start = w.day - dt.timedelta(days=rng.randint(30, 300))
        end = start + dt.timedelta(days=rng.randint(2, 20))
        w.experts[i]["leave"].append({"from": start.isoformat(), "to": end.isoformat()})
    for i in rng.sample(range(n), round(0.02 * n)):  # leave around the day, mostly covering it
        start = w.day + dt.timedelta(days=rng.randint(-8, 3))
        end = start + dt.timedelta(days=rng.randint(0, 12))
        w.experts[i]["leave"].append({"from": start.isoformat(), "to": end.isoformat()})
        if start <= w.day <= end:
            w.on_leave.add(i)


def build_relations(w: World) -> None:
    """Declared relations (E4) for ~5% of experts and penalties (E1) for ~0.5%."""
    rng, n, y = w.rng, len(w.experts), w.day.year
    by_pref: dict[str, list[int]] = {}
    for o, ri in enumerate(w.org_region):
        by_pref.setdefault(w.regions[ri].pref, []).append(o)
    for i in sorted(rng.sample(range(n), round(0.05 * n))):
        pool = by_pref[w.regions[int(w.ex_region[i])].pref]
        for org in rng.sample(pool, rng.choices((1, 2), weights=(75, 25))[0]):
            if org == w.ex_employer[i]:
                continue
            kind = rng.choices(RELATION_KINDS, weights=(35, 20, 12, 10, 12, 11))[0]
            recent = kind in ("legal_dispute", "avoid")
            first_year = rng.randint(y - (8 if recent else 25), y - 1)
            start: dt.date | None = dt.date(first_year, rng.randint(1, 12), 1)
            end: dt.date | None = None
            if kind == "former_employment":  # some ended long ago (no longer counts), some recently
                end = w.day - dt.timedelta(days=rng.randint(30, 12 * 365))
            elif kind in ("director", "shareholder", "legal_dispute") and rng.random() < 0.4:
                end = w.day - dt.timedelta(days=rng.randint(60, 8 * 365))
            elif kind == "relative":
                start = None
            if start is not None and end is not None and end < start:
                start = end - dt.timedelta(days=rng.randint(365, 8 * 365))
            w.relations.append({"expert": w.ex_id(i), "org": w.org_id(org), "kind": kind,
                                "from": start.isoformat() if start else None,
                                "to": end.isoformat() if end else None})
    for i in sorted(rng.sample(range(n), round(0.005 * n))):
        when = w.day - dt.timedelta(days=rng.randint(60, 6 * 365))
        w.penalties.append({"expert": w.ex_id(i), "date": when.isoformat(),
                            "reason": rng.choice(cat.PENALTY_REASONS)})
        w.penalised.add(i)


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
    cu = _weighted(nrng, np.cumsum([activity[x].sum() for x in unit_experts]), c)
    cv = near[cu, nrng.integers(near.shape[1], size=c)]
    anchor = np.zeros(c, np.int64)
    tenderer = np.zeros(c, np.int64)
    public: list[list[int]] = [[] for _ in units]
    for o, ri in enumerate(w.org_region):
        if w.org_tag[o]:
            public[units.index(w.regions[ri].pref)].append(o)
    for u, pub in enumerate(public):
        sel = np.flatnonzero(cu == u)
        anchor[sel] = unit_experts[u][_weighted(nrng, np.cumsum(activity[unit_experts[u]]), len(sel))]
        tenderer[sel] = np.array(pub)[_weighted(nrng, np.cumsum([w.org_activity[o] for o in pub]), len(sel))]
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
                out[by_key[lo:hi]] = members[_weighted(nrng, cum, (hi - lo, k))]
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


class DayPlanner:
    """Projects of the day, each checked against rough pools and room seats so the day stays feasible."""

    def __init__(self, w: World, rules: RuleParams) -> None:
        self.w, self.rules, n = w, rules, len(w.experts)
        self.pref = np.array([r.pref for r in w.regions])[w.ex_region]
        base = (w.ex_status == 0) & (w.ex_age <= rules.max_age)
        base[sorted(w.penalised | w.on_leave)] = False
        buf = rules.travel_buffer_minutes
        self.avail: list[np.ndarray] = []  # per session: E1, E2, E6, E8
        for a, b in SESSION_WINDOW:
            ok = base.copy()
            ok[[e for e, s, t in w.bookings if s < b + buf and t > a - buf]] = False
            recent = np.zeros(n, np.int64)
            since = (w.day - dt.timedelta(days=30), a)
            for d, s, _, _, members in w.history:
                if (d, s) >= since:
                    recent[members] += 1
            self.avail.append(ok & (recent < rules.max_per_30d))
        self.taken = [np.zeros(n, bool) for _ in SESSION_WINDOW]
        self.by_tenderer: dict[int, list[int]] = {}
        for *_, t, members in w.history:
            self.by_tenderer.setdefault(t, []).extend(members)
        rows: dict[str, list[int]] = {}
        for i, e in enumerate(w.experts):
            for code in {c[:k] for c in e["specialties"] for k in range(3, len(c) + 1, 2)}:
                rows.setdefault(code, []).append(i)
        self.match: dict[str, np.ndarray] = {}
        for code, idx in rows.items():
            self.match[code] = np.zeros(n, bool)
            self.match[code][idx] = True
        self.active = [k for k, s in enumerate(w.sites) if s["active"]]
        self.reach = [_haversine(s["lat"], s["lon"], w.ex_lat, w.ex_lon) <= rules.max_travel_km
                      for s in w.sites]
        self.reach_any = np.logical_or.reduce([self.reach[k] for k in self.active])
        lat, lon = np.array([s["lat"] for s in w.sites]), np.array([s["lon"] for s in w.sites])
        self.site_km = _haversine(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
        self.free = [[[r["seats"] for r in s["rooms"]] for s in w.sites] for _ in SESSION_WINDOW]
        room_at = {r["id"]: (k, j) for k, s in enumerate(w.sites) for j, r in enumerate(s["rooms"])}
        for rb in w.room_bookings:
            k, j = room_at[rb["room"]]
            for si, (a, b) in enumerate(SESSION_WINDOW):
                if rb["start"] < stamp(w.day, b) and rb["end"] > stamp(w.day, a):
                    self.free[si][k][j] -= rb["seats"]
        roles = [w.regions[ri].role for ri in w.site_region]
        self.mains = [k for k in self.active if roles[k] in ("main", "prefecture", "sub")]
        weight = {"main": 12.0, "sub": 1.2}
        self.main_w = [weight.get(roles[k], 100 * w.regions[w.site_region[k]].weight) for k in self.mains]
        self.main_pref = next((x.pref for x in w.regions if x.role == "main"), w.regions[0].pref)
        self.home_prefs = sorted({x.pref for x in w.regions if x.cls != "partner"})
        self.orgs_by: dict[tuple[str, str], list[int]] = {}
        for o, ri in enumerate(w.org_region):
            self.orgs_by.setdefault((w.regions[ri].pref, w.org_kind[o]), []).append(o)
        self.seq = 1 + sum(1 for h in w.history if h[0].year == w.day.year)

    def _pick_org(self, cands: list[int]) -> int:
        return self.w.rng.choices(cands, weights=[self.w.org_activity[o] for o in cands])[0]

    def _sizing(self, proc: str) -> tuple[int, int, int]:
        """Budget, committee size (C1) and representatives (C2) of a project of this procedure."""
        rng, r = self.w.rng, self.rules
        if proc == cat.ENG:
            budget = round(min(8e8, max(1.5e6, rng.lognormvariate(math.log(2.5e7), 1.0))), -3)
            big = budget >= 5e7 or rng.random() < 0.15
            size = 9 if budget >= 2e8 and rng.random() < 0.5 else 7 if big else 5
        elif proc == cat.GPT:
            budget = round(min(6e7, max(1e6, rng.lognormvariate(math.log(3.5e6), 0.9))), -4)
            large = budget >= r.gp_large_budget
            size = (9 if rng.random() < 0.2 else 7) if large else (7 if rng.random() < 0.15 else 5)
            size = max(size, r.gp_large_min_size if large else 0)
        else:
            budget = round(min(8e6, max(2e5, rng.lognormvariate(math.log(1.2e6), 0.8))), -4)
            above = budget >= r.gp_public_tender_threshold
            size = 5 if above or rng.random() < 0.2 else 3
            size = max(size, r.gp_negotiation_above_threshold_min_size if above else 0)
        size = max(size, r.min_size.get(proc, 1))
        size += 1 - size % 2  # C1: odd
        max_reps = size - math.ceil(r.expert_share * size)
        reps = min(max_reps, rng.choices((0, 1, 2), weights=(35, 55, 10))[0])
        return int(budget), size, reps

    def _needs(self, kind: cat.ProjectKind, d: int) -> list[tuple[str, int]]:
        """The main specialty and, mostly, one or two others (造价, 商务) adding up to d drawn experts."""
        rng = self.w.rng
        primary = rng.choices(kind.primary, weights=[3] + [1] * (len(kind.primary) - 1))[0]
        related = [c for c in kind.secondary if c[:3] != primary[:3]]
        if d <= 2 or not related or rng.random() < 0.25:
            return [(primary, d)]
        secs: list[str] = []
        for c in rng.sample(related, min(len(related), 2 if d >= 6 and rng.random() < 0.35 else 1)):
            if all(not c.startswith(x[:3]) for x in secs):
                secs.append(c)
        counts = [2 if d >= 7 and rng.random() < 0.3 else 1 for _ in secs]
        return [(primary, d - sum(counts)), *zip(secs, counts, strict=True)]

    def _aux_choice(self, main: int, d: int, reps: int) -> list[int] | None:
        """Left to the draw (~60%), named (1–2 sites nearby or an alliance partner) or none (~10%)."""
        rng, w = self.w.rng, self.w
        mode = rng.random()
        if mode < 0.6 and d >= 1 + self.rules.aux_site_count:
            return None
        if mode > 0.9 or d < 2:
            return [] if d + reps <= 6 else None  # only small committees sit at the main site alone
        others = sorted((k for k in self.active if k != main), key=lambda k: self.site_km[main, k])
        partners = [k for k in others if w.regions[w.site_region[k]].role == "partner"]
        count = 2 if d >= 3 and rng.random() < 0.5 else 1
        if partners and rng.random() < 0.2:  # a cross-province alliance partner, and maybe a neighbour
            partner = rng.choice(partners)
            return [partner, *rng.sample([k for k in others[:4] if k != partner], count - 1)]
        return rng.sample(others[:8], count)

    def _parties(self, kind: cat.ProjectKind, proc: str, region: cat.Region
                 ) -> tuple[int, int | None, list[int], list[int]]:
        """Tenderer, agent, bidders and supervising department of a project in `region`."""
        w, rng, pref = self.w, self.w.rng, region.pref
        public = [o for o in region.orgs if w.org_tag[o]]
        tenderer = self._pick_org([o for o in public if w.org_tag[o] in kind.tenderer_tags] or public)
        agents = self.orgs_by.get((pref, "agent")) or self.orgs_by.get((self.main_pref, "agent"), [])
        agent = self._pick_org(agents) if agents and rng.random() < 0.92 else None
        # Bidders of the right trade, two in three from the project's own city, the rest from the province.
        local = [o for k in kind.bidder_kinds for o in self.orgs_by.get((pref, k), [])]
        wide = [o for p in self.home_prefs for k in kind.bidder_kinds for o in self.orgs_by.get((p, k), [])]
        target = rng.randint(4, 8) if proc == cat.ENG else rng.randint(3, 6)
        bidders: list[int] = []
        for _ in range(20 * target):
            if len(bidders) == target:
                break
            o = rng.choice(local if local and rng.random() < 0.65 else wide)
            if o not in bidders and o != tenderer:
                bidders.append(o)
        # The competent department: the region's own, else the city's; 发改委/住建 when it tenders itself.
        tag = "fin"
        if proc == cat.ENG:
            tag = next((t for t in kind.tenderer_tags if t in ("road", "water")), "eng")
        city = [o for x in w.regions if x.pref == pref for o in x.orgs if o != tenderer]
        supervisors = ([o for o in public if w.org_tag[o] == tag and o != tenderer]
                       or [o for o in city if w.org_tag[o] == tag]
                       or [o for o in city if w.org_tag[o] in ("dev", "eng")])[:1]
        if proc == cat.ENG and rng.random() < 0.2:
            supervisors += [o for o in city if w.org_tag[o] == "dev" and o not in supervisors][:1]
        return tenderer, agent, bidders, supervisors

    def _pools(self, si: int, main: int, aux: list[int] | None, needs: list[tuple[str, int]], pref: str,
               tenderer: int, conflict: list[int]) -> list[np.ndarray] | None:
        """Each need's rough pool (E1–E3, E5–E8, C3, S3), or None when a pool lacks headroom for the rules
        and the day's other projects, S6 included (outsiders of the project's prefecture)."""
        r = self.rules
        d = sum(c for _, c in needs)
        elig = self.avail[si] & ~self.taken[si] & ~np.isin(self.w.ex_employer, conflict)
        same_tenderer = np.bincount(self.by_tenderer.get(tenderer, []), minlength=len(elig))
        elig &= same_tenderer < r.max_same_tenderer_365d  # E7
        reach = self.reach[main] | (self.reach_any if aux is None else np.zeros_like(elig))
        for k in aux or []:
            reach = reach | self.reach[k]
        pools = [elig & self.match.get(code, np.zeros_like(elig)) & reach for code, _ in needs]
        away, local_cap = self.pref != pref, math.floor(r.max_local_share * d)
        for pool, (_, c) in zip(pools, needs, strict=True):
            if int(pool.sum()) < 3 * c + 2 or int((pool & away).sum()) < 2 * max(0, c - local_cap) + 2:
                return None
        anym = np.logical_or.reduce(pools)
        if int((anym & away).sum()) < 2 * (d - local_cap) + 2 or int((anym & self.reach[main]).sum()) < 3:
            return None
        if aux:
            main_cap = max(r.min_main, math.floor(r.max_main_share * d))
            outside = anym & np.logical_or.reduce([self.reach[k] for k in aux])
            if int(outside.sum()) < 2 * (d - main_cap) + 1:
                return None
            if any(int((anym & self.reach[k]).sum()) < 3 for k in aux):
                return None
        return pools

    def _room(self, si: int, site: int, demand: int) -> int | None:
        # Other projects' auxiliary experts will sit here too (the draw picks their sites at random):
        # leave seats in every room and about a third of the site.
        free = self.free[si][site]
        total = sum(r["seats"] for r in self.w.sites[site]["rooms"])
        fits = [j for j, f in enumerate(free) if f - ROOM_SLACK >= demand]
        if not fits or sum(free) - demand < SITE_SLACK * total:
            return None
        return min(fits, key=lambda j: free[j])

    def _reserve(self, si: int, main: int, aux: list[int] | None, d: int, reps: int) -> bool:
        """Hold seats for the main room (at most S2's share of the experts, plus the representatives) and
        for the named auxiliary sites; False when they do not fit."""
        main_cap = d if aux == [] else max(self.rules.min_main, math.floor(self.rules.max_main_share * d))
        per_aux = max(1, math.ceil((d - main_cap + 1) / len(aux))) if aux else 0
        wanted = [(main, main_cap + reps), *((k, per_aux) for k in aux or [])]
        rooms = [self._room(si, k, seats) for k, seats in wanted]
        if any(j is None for j in rooms):
            return False
        for (k, seats), j in zip(wanted, rooms, strict=True):
            assert j is not None
            self.free[si][k][j] -= seats
        return True

    def propose(self) -> dict[str, Any] | None:
        """One candidate project, or None when its pools or rooms would not hold."""
        w, rng = self.w, self.w.rng
        si = 0 if rng.random() < 0.55 else 1
        main = rng.choices(self.mains, weights=self.main_w)[0]
        key = rng.choices(list(cat.PROJECT_KINDS), weights=[k.weight for k in cat.PROJECT_KINDS.values()])[0]
        kind = cat.PROJECT_KINDS[key]
        proc = kind.procedures[0] if len(kind.procedures) == 1 or rng.random() < 0.65 else kind.procedures[1]
        budget, size, reps = self._sizing(proc)
        d = size - reps
        aux = self._aux_choice(main, d, reps)
        needs = self._needs(kind, d)
        region = w.regions[w.site_region[main]]
        if region.role == "main":  # the centre serves the whole city; its projects are the districts'
            jinan = [x for x in w.regions if x.role in ("main", "district")]
            region = rng.choices(jinan, weights=[x.weight for x in jinan])[0]
        tenderer, agent, bidders, supervisors = self._parties(kind, proc, region)
        conflict = [tenderer, *([agent] if agent is not None else []), *bidders, *supervisors]
        pools = self._pools(si, main, aux, needs, region.pref, tenderer, conflict)
        if pools is None or not self._reserve(si, main, aux, d, reps):
            return None
        excluded: list[int] = []
        for pool, (_, c) in zip(pools, needs, strict=True):
            rows = np.flatnonzero(pool)
            extra = 1 if rng.random() < 0.04 else 0  # someone who declined earlier (E9)
            picked = w.nrng.choice(rows, size=min(len(rows), c + extra), replace=False)
            self.taken[si][picked[:c]] = True  # a stand-in for the real draw, so later pools shrink
            excluded += [int(x) for x in picked[c:]]
        start, end = SESSIONS[si][rng.choices((0, 1, 2), weights=(70, 15, 15))[0]]
        obj = rng.choice(kind.objects)
        name = (f"{cat.full_name(w.regions, region)}{rng.choice(cat.ROAD_NAMES)}路{obj}"
                if key in ("road", "pipe", "garden") else f"{w.org_names[tenderer]}{obj}")
        self.seq += 1
        return {
            "id": f"P-{w.day.year}-{self.seq - 1:06d}", "name": name, "procedure": proc, "budget": budget,
            "region": region.code, "tenderer": w.org_id(tenderer),
            "agent": w.org_id(agent) if agent is not None else None,
            "bidders": [w.org_id(o) for o in bidders], "supervisor_orgs": [w.org_id(o) for o in supervisors],
            "start": stamp(w.day, start), "end": stamp(w.day, end), "size": size, "representatives": reps,
            "main_site": w.sites[main]["id"],
            "aux_sites": None if aux is None else [w.sites[k]["id"] for k in aux],
            "needs": [{"specialty": code, "count": c} for code, c in needs],
            "excluded_experts": [w.ex_id(x) for x in excluded],
        }


def plan_day(w: World, n_projects: int, rules: RuleParams) -> list[dict[str, Any]]:
    """`n_projects` projects on the day, morning and afternoon, main sites mostly in Shandong."""
    planner = DayPlanner(w, rules)
    out: list[dict[str, Any]] = []
    rejected = 0
    while len(out) < n_projects:
        p = planner.propose()
        if p is not None:
            out.append(p)
        else:
            rejected += 1
            if rejected > 200 * n_projects:
                raise RuntimeError("the demo province cannot hold that many projects in one day")
    logger.debug("planned %d projects (%d proposals rejected)", len(out), rejected)
    out.sort(key=lambda p: (p["start"], p["main_site"], p["id"]))
    first = planner.seq - len(out)
    for k, p in enumerate(out):  # numbered in the order of the day
        p["id"] = f"P-{w.day.year}-{first + k:06d}"
    return out


def generate(*, seed: int = 2026, experts: int = 20_000, projects: int = 150, day: dt.date = DAY,
             sites_csv: Path | None = None) -> dict[str, Any]:
    """A realistic draw-instance/1 document: sites, orgs, experts, relations, history, one day of projects."""
    w = World(day=day, rng=random.Random(seed), nrng=np.random.default_rng(seed),
              regions=cat.load_regions(sites_csv))
    cat.build_sites(w)
    cat.build_orgs(w, max(300, experts // 8))
    build_experts(w, experts)
    build_relations(w)
    build_history(w)
    build_bookings(w)
    day_projects = plan_day(w, projects, RuleParams())
    stamps: dict[tuple[dt.date, int], str] = {}
    for d, *times, _, _ in w.history:
        for t in times:
            if (d, t) not in stamps:
                stamps[d, t] = stamp(d, t)
    ids = w.ex_ids
    seq: Counter[int] = Counter()
    names = []
    for d, *_ in w.history:
        seq[d.year] += 1
        names.append(f"P-{d.year}-{seq[d.year]:06d}")
    history = [{"project": names[k], "tenderer": w.org_id(t), "start": stamps[d, s],
                "end": stamps[d, e], "experts": [ids[x] for x in sorted(m)]}
               for k, (d, s, e, t, m) in enumerate(w.history)]
    return {
        "format": "draw-instance/1",
        "rules": {},
        "sites": w.sites,
        "orgs": [{"id": w.org_id(i), "name": name} for i, name in enumerate(w.org_names)],
        "experts": w.experts,
        "relations": w.relations,
        "penalties": w.penalties,
        "history": history,
        "bookings": [{"expert": w.ex_id(e), "start": stamp(day, s), "end": stamp(day, t)}
                     for e, s, t in w.bookings],
        "room_bookings": w.room_bookings,
        "projects": day_projects,
    }


def small(*, seed: int = 2026, day: dt.date = DAY) -> dict[str, Any]:
    """A small province (1,500 experts, 12 projects) for the quick demo service."""
    return generate(seed=seed, experts=1_500, projects=12, day=day)


def main(argv: list[str] | None = None) -> int:
    """`python -m api.demo_data --out FILE [--experts N --projects N --seed S --day YYYY-MM-DD]`."""
    ap = argparse.ArgumentParser(prog="python -m api.demo_data", description=__doc__)
    ap.add_argument("--out", type=Path, required=True, help="where to write the instance JSON")
    ap.add_argument("--experts", type=int, default=20_000)
    ap.add_argument("--projects", type=int, default=150)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--day", type=dt.date.fromisoformat, default=DAY, help="the day of the projects")
    ap.add_argument("--sites-csv", type=Path, default=None, help="reference regions (default: packaged)")
    args = ap.parse_args(argv)
    doc = generate(seed=args.seed, experts=args.experts, projects=args.projects, day=args.day,
                   sites_csv=args.sites_csv)
    args.out.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {args.out}: {len(doc['sites'])} sites, {len(doc['experts'])} experts, "
          f"{len(doc['history'])} past committees, {len(doc['projects'])} projects on {args.day}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
