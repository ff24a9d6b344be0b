"""The naive expert draw most systems run: filter, shuffle, take greedily, seat each at the nearest site.

It is the baseline of benchmarks/bench_fairness.py. Its greedy choice is not uniform over the legal
committees (rule D1) once rules couple experts (P1, P2, S6, the site quotas of S2), and its seating
can fail where a legal seating exists; both are what the benchmark measures.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from config.rules import RuleParams
from scheduler.instance import Instance, ProjectIn, canonical_bytes, parse_instance, sha256_hex

logger = logging.getLogger(__name__)
EARTH_KM = 6371.0088
SOFTWARE = "naive-baseline/1"


def _plus_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


class _Pool:
    """Per-instance arrays and the state a day plan accumulates (bookings, room use)."""

    def __init__(self, inst: Instance, rules: RuleParams) -> None:
        self.inst, self.rules = inst, rules
        ex = inst.experts
        self.ids = [e.id for e in ex]
        self.index = {x: i for i, x in enumerate(self.ids)}
        self.lat = np.radians([e.lat for e in ex])
        self.lon = np.radians([e.lon for e in ex])
        born = np.array([(e.birth_date.year, e.birth_date.month, e.birth_date.day) for e in ex])
        born = born.reshape(-1, 3)
        self.by, self.bm, self.bd = born[:, 0], born[:, 1], born[:, 2]
        penalized = {pen.expert for pen in inst.penalties}
        self.active = np.array([e.status == "active" and e.id not in penalized for e in ex], dtype=bool)
        self.employer = [e.employer for e in ex]
        org_code = {o.id: k for k, o in enumerate(inst.orgs)}
        self.emp_code = np.array([org_code.get(e.employer or "", -1) for e in ex], dtype=np.int64)
        self.org_code = org_code
        self.region4 = [e.region[:4] for e in ex]
        self.relations: dict[str, list[tuple[int, date | None]]] = {}
        for r in inst.relations:
            self.relations.setdefault(r.org, []).append((self.index[r.expert], r.to))
        self.h_start = np.array([h.start.timestamp() for h in inst.history])
        self.h_tenderer = np.array([org_code.get(h.tenderer or "", -1) for h in inst.history], dtype=np.int64)
        pairs = [(k, self.index[x]) for k, h in enumerate(inst.history) for x in h.experts]
        self.m_entry = np.array([k for k, _ in pairs], dtype=np.int64)
        self.m_expert = np.array([i for _, i in pairs], dtype=np.int64)
        self.entries: list[set[int]] = [set() for _ in ex]
        for k, i in pairs:
            self.entries[i].add(k)
        self.leave = {i: [(lv.from_, lv.to) for lv in e.leave] for i, e in enumerate(ex) if e.leave}
        self.busy: dict[int, list[tuple[datetime, datetime]]] = {}
        for b in inst.bookings:
            self.busy.setdefault(self.index[b.expert], []).append((b.start, b.end))
        self.room_use = [(rb.room, rb.seats, rb.start, rb.end) for rb in inst.room_bookings]
        self._prefix: dict[str, list[int]] = {}
        for i, e in enumerate(ex):
            for code in {c[:k] for c in e.specialties for k in range(3, len(c) + 1, 2)}:
                self._prefix.setdefault(code, []).append(i)

    def matches(self, code: str) -> np.ndarray:
        """Experts with a specialty under `code` (C3)."""
        mask = np.zeros(len(self.ids), dtype=bool)
        mask[self._prefix.get(code, [])] = True
        return mask

    def distances(self, site_ids: list[str]) -> np.ndarray:
        """Haversine km from every expert to each site (columns in `site_ids` order)."""
        sites = {s.id: s for s in self.inst.sites}
        slat = np.radians([sites[s].lat for s in site_ids])[None, :]
        slon = np.radians([sites[s].lon for s in site_ids])[None, :]
        h = (np.sin((slat - self.lat[:, None]) / 2) ** 2
             + np.cos(self.lat[:, None]) * np.cos(slat) * np.sin((slon - self.lon[:, None]) / 2) ** 2)
        return np.asarray(2 * EARTH_KM * np.arcsin(np.sqrt(np.minimum(h, 1.0))))

    def eligible(self, p: ProjectIn) -> np.ndarray:
        """E1-E9 for one project (the site reach S3 is applied by the caller)."""
        r, day = self.rules, p.start.date()
        age = day.year - self.by - ((day.month < self.bm) | ((day.month == self.bm) & (day.day < self.bd)))
        mask = self.active & (age <= r.max_age)
        conflict = [o for o in (p.tenderer, p.agent, *p.bidders) if o]
        mask &= ~np.isin(self.emp_code, [self.org_code[o] for o in (*conflict, *p.supervisor_orgs)])
        for org in conflict:
            for i, to in self.relations.get(org, []):
                if to is None or day <= _plus_years(to, r.relation_lookback_years):
                    mask[i] = False
        t0 = p.start.timestamp()
        n = len(self.ids)
        if len(self.h_start):
            in30 = (self.h_start >= t0 - 30 * 86400) & (self.h_start < t0)
            same = self.h_tenderer == self.org_code[p.tenderer]
            in365 = (self.h_start >= t0 - 365 * 86400) & (self.h_start < t0) & same
            count30 = np.bincount(self.m_expert, weights=in30[self.m_entry], minlength=n)
            count365 = np.bincount(self.m_expert, weights=in365[self.m_entry], minlength=n)
            mask &= (count30 < r.max_per_30d) & (count365 < r.max_same_tenderer_365d)
        for i, periods in self.leave.items():
            if any(f <= p.end.date() and t >= day for f, t in periods):
                mask[i] = False
        buf = timedelta(minutes=r.travel_buffer_minutes)
        for i, busy in self.busy.items():
            if any(s < p.end + buf and e > p.start - buf for s, e in busy):
                mask[i] = False
        for x in p.excluded_experts:
            mask[self.index[x]] = False
        return mask

    def free_room(self, site_id: str, p: ProjectIn) -> tuple[str, int]:
        """The site's room with most seats free during the project, and how many."""
        site = next(s for s in self.inst.sites if s.id == site_id)
        best = ("", 0)
        for room in site.rooms:
            used = sum(k for rid, k, s, e in self.room_use if rid == room.id and s < p.end and e > p.start)
            if room.seats - used > best[1]:
                best = (room.id, room.seats - used)
        return best


def naive_draw(doc: dict[str, Any], seed_hex: str) -> dict[str, Any]:
    """Draw every project of `doc` the naive way, in instance order; a draw-result/1 dict."""
    inst = parse_instance(doc)
    rules = RuleParams().merged(inst.rules)
    rng = np.random.default_rng(int(seed_hex, 16))
    pool = _Pool(inst, rules)
    projects = [_draw_project(pool, p, rng) for p in inst.projects]
    return {"format": "draw-result/1", "instance_sha256": sha256_hex(canonical_bytes(doc)),
            "seed_sha256": sha256_hex(bytes.fromhex(seed_hex)), "seed": seed_hex, "software": SOFTWARE,
            "projects": projects}


def _draw_project(pool: _Pool, p: ProjectIn, rng: np.random.Generator) -> dict[str, Any]:
    rules = pool.rules
    if p.aux_sites is None:
        others = sorted(s.id for s in pool.inst.sites if s.active and s.id != p.main_site)
        k = min(rules.aux_site_count, len(others))
        aux = [others[i] for i in sorted(rng.choice(len(others), size=k, replace=False))] if k else []
    else:
        aux = list(p.aux_sites)
    site_ids = [p.main_site, *aux]
    dist = pool.distances(site_ids)
    base = pool.eligible(p) & (dist.min(axis=1) <= rules.max_travel_km)
    drawn = p.size - p.representatives
    local_cap = math.floor(rules.max_local_share * drawn)
    since = (p.start - timedelta(days=rules.familiar_pair_days)).timestamp()
    in_window = (pool.h_start >= since) & (pool.h_start < p.start.timestamp())
    window: set[int] = set(np.flatnonzero(in_window).tolist())
    taken: list[tuple[int, str]] = []

    def fits(c: int) -> bool:
        members = [i for i, _ in taken]
        if c in members:  # C4
            return False
        emp = pool.employer[c]
        if emp is not None and sum(pool.employer[i] == emp for i in members) >= rules.max_same_employer:  # P1
            return False
        if any(len(pool.entries[c] & pool.entries[i] & window) >= rules.familiar_pair_count for i in members):
            return False  # P2
        local = p.region[:4]
        return not (pool.region4[c] == local and sum(pool.region4[i] == local for i in members) >= local_cap)

    orders: dict[str, tuple[np.ndarray, int]] = {}
    unmet: list[dict[str, Any]] = []
    for need in p.needs:
        order = rng.permutation(np.flatnonzero(base & pool.matches(need.specialty)))
        got, pos = 0, 0
        while got < need.count and pos < len(order):
            if fits(int(order[pos])):
                taken.append((int(order[pos]), need.specialty))
                got += 1
            pos += 1
        orders[need.specialty] = (order, pos)
        if got < need.count:
            unmet.append({"need": need.specialty, "missing": need.count - got, "eligible": len(order),
                          "rules": [], "advice": "the naive greedy draw ran out of candidates"})
    seats = None if unmet else _seat(pool, p, site_ids, dist, taken)
    if seats is None and not unmet:
        unmet.append({"need": p.needs[0].specialty, "missing": drawn, "eligible": int(base.sum()),
                      "rules": ["S2", "S3", "S4"], "advice": "nearest-site seating missed the quotas"})
    out: dict[str, Any] = {"project": p.id, "status": "infeasible" if unmet else "drawn",
                           "sampling": "approximate", "aux_sites": aux, "seats": seats or [],
                           "alternates": [], "warnings": [], "unmet": unmet}
    if unmet:
        return out
    for code, (order, pos) in orders.items():
        alts: list[str] = []
        for c in order[pos:]:
            if len(alts) >= rules.alternates_per_need:
                break
            if fits(int(c)):
                alts.append(pool.ids[int(c)])
        out["alternates"].append({"need": code, "experts": alts})
    for i, _ in taken:
        pool.busy.setdefault(i, []).append((p.start, p.end))
    people: Counter[tuple[str, str]] = Counter((s["site"], s["room"]) for s in out["seats"])
    if p.representatives and not any(site == p.main_site for site, _ in people):
        people[(p.main_site, pool.free_room(p.main_site, p)[0])] = 0
    for (site, room), k in people.items():
        pool.room_use.append((room, k + (p.representatives if site == p.main_site else 0), p.start, p.end))
    return out


def _seat(pool: _Pool, p: ProjectIn, site_ids: list[str], dist: np.ndarray,
          taken: list[tuple[int, str]]) -> list[dict[str, str]] | None:
    """Seat each expert, in drawing order, at the nearest site with room and quota left; None on failure."""
    rules, drawn = pool.rules, len(taken)
    rooms = [pool.free_room(s, p) for s in site_ids]
    caps = [free - (p.representatives if j == 0 else 0) for j, (_, free) in enumerate(rooms)]
    highs = [max(rules.min_main, math.floor(rules.max_main_share * drawn)) if len(site_ids) > 1 else drawn]
    highs += [drawn] * (len(site_ids) - 1)
    lows = [rules.min_main] + [rules.min_per_aux_site] * (len(site_ids) - 1)
    load = [0] * len(site_ids)
    seats: list[dict[str, str]] = []
    for i, need in taken:
        for j in np.argsort(dist[i], kind="stable"):
            if dist[i, j] <= rules.max_travel_km and load[j] < min(caps[j], highs[j]):
                load[j] += 1
                seats.append({"expert": pool.ids[i], "need": need, "site": site_ids[j], "room": rooms[j][0]})
                break
        else:
            return None
    if caps[0] < 0 or any(load[j] < lows[j] for j in range(len(site_ids))):
        return None
    return seats
