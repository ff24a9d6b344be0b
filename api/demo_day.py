"""The demo province's day: projects planned against rough pools and room seats so that it stays feasible."""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import Any

import numpy as np

from api import demo_catalog as cat
from api.demo_catalog import World, stamp
from api.demo_history import SESSION_WINDOW, SESSIONS
from config.rules import RuleParams

logger = logging.getLogger(__name__)

ROOM_SLACK = 2  # seats per room left for other projects' auxiliary experts
SITE_SLACK = 0.3  # and this share of a site's seats


def _haversine(lat: Any, lon: Any, lats: Any, lons: Any) -> Any:
    # Rule S3's great-circle distance (radius 6371.0088 km), broadcasting over arrays.
    p1, p2 = np.radians(lat), np.radians(lats)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lons - lon) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


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
