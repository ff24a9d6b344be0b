"""Shared by the demo-province tests: the generated provinces (built once per run) and a greedy day plan."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import date, datetime, timedelta
from functools import cache
from itertools import combinations
from typing import Any

import numpy as np

from api.demo_data import generate, small
from config.rules import RuleParams
from tests.checker import add_years

R = RuleParams()
Doc = dict[str, Any]


@cache
def full_province() -> Doc:
    """The default province (20,000 experts, 150 projects), generated once and shared read-only."""
    return generate()


@cache
def little_province() -> Doc:
    """The small province of seed 7, generated once and shared read-only."""
    return small(seed=7)


def parse_dt(text: str) -> datetime:
    """An ISO 8601 timestamp of the instance format."""
    return datetime.fromisoformat(text)


class GreedyDay:
    """A plain greedy day plan written from draw-rules.md: a lower bound on the projects that can be drawn."""

    def __init__(self, doc: Doc, seed: int) -> None:
        self.doc, self.rng = doc, random.Random(seed)
        ex = doc["experts"]
        self.n = len(ex)
        self.ids = [e["id"] for e in ex]
        at = {x: i for i, x in enumerate(self.ids)}
        self.pref = np.array([e["region"][:4] for e in ex])
        self.org_at = {o["id"]: k for k, o in enumerate(doc["orgs"])}
        self.employer = np.array([self.org_at.get(e["employer"], -1) for e in ex])
        penalised = {p["expert"] for p in doc["penalties"]}
        self.base = np.array([e["status"] == "active" and e["id"] not in penalised for e in ex])
        self.sites = {s["id"]: s for s in doc["sites"]}
        lat, lon = np.radians([e["lat"] for e in ex]), np.radians([e["lon"] for e in ex])
        self.reach = {}
        for sid, s in self.sites.items():  # S3 with the haversine formula of draw-rules.md, vectorised
            p1, l1 = math.radians(s["lat"]), math.radians(s["lon"])
            h = np.sin((lat - p1) / 2) ** 2 + np.cos(p1) * np.cos(lat) * np.sin((lon - l1) / 2) ** 2
            self.reach[sid] = 2 * 6371.0088 * np.arcsin(np.sqrt(np.minimum(h, 1.0))) <= R.max_travel_km
        self.busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
        for b in doc["bookings"]:
            self.busy[at[b["expert"]]].append((parse_dt(b["start"]), parse_dt(b["end"])))
        self.rels: dict[str, list[tuple[int, str | None]]] = defaultdict(list)
        for rel in doc["relations"]:
            self.rels[rel["org"]].append((at[rel["expert"]], rel["to"]))
        starts = [parse_dt(h["start"]).timestamp() for h in doc["history"]]
        sat = [(at[x], t, self.org_at[h["tenderer"]])
               for h, t in zip(doc["history"], starts, strict=True) for x in h["experts"]]
        self.seat_e, self.seat_t, self.seat_org = (np.array(col) for col in zip(*sat, strict=True))
        horizon = min(parse_dt(p["start"]).timestamp() for p in doc["projects"]) - R.familiar_pair_days * 86400
        self.met: dict[int, list[float]] = defaultdict(list)
        for h, t in zip(doc["history"], starts, strict=True):
            if t >= horizon:
                for a, b in combinations(sorted(at[x] for x in h["experts"]), 2):
                    self.met[a * self.n + b].append(t)
        self.room_use: dict[str, list[tuple[datetime, datetime, int]]] = defaultdict(list)
        for rb in doc["room_bookings"]:
            self.room_use[rb["room"]].append((parse_dt(rb["start"]), parse_dt(rb["end"]), rb["seats"]))
        self._available: dict[tuple[date, date], np.ndarray] = {}
        self.seats = {r["id"]: r["seats"] for s in doc["sites"] for r in s["rooms"]}
        prefixes: dict[str, list[int]] = defaultdict(list)
        for i, e in enumerate(ex):
            for code in {c[:k] for c in e["specialties"] for k in range(3, len(c) + 1, 2)}:
                prefixes[code].append(i)
        self.match = {}
        for code, rows in prefixes.items():  # C3: a need's code is a prefix of one of the expert's codes
            self.match[code] = np.zeros(self.n, bool)
            self.match[code][rows] = True

    def eligible(self, p: Doc) -> np.ndarray:
        """E1–E9 for every expert on project p."""
        start, end = parse_dt(p["start"]), parse_dt(p["end"])
        ok = self.base & self.available(start.date(), end.date())
        parties = {p["tenderer"], p["agent"], *p["bidders"]} - {None}
        ok &= ~np.isin(self.employer, [self.org_at[o] for o in parties | set(p["supervisor_orgs"])])
        for org in parties:
            for i, to in self.rels[org]:
                if to is None or start.date() <= add_years(date.fromisoformat(to), R.relation_lookback_years):
                    ok[i] = False
        t = start.timestamp()
        recent = (self.seat_t >= t - 30 * 86400) & (self.seat_t < t)
        ok &= np.bincount(self.seat_e[recent], minlength=self.n) < R.max_per_30d
        same = (self.seat_t >= t - 365 * 86400) & (self.seat_t < t)
        same &= self.seat_org == self.org_at[p["tenderer"]]
        ok &= np.bincount(self.seat_e[same], minlength=self.n) < R.max_same_tenderer_365d
        buf = timedelta(minutes=R.travel_buffer_minutes)
        for i, spans in self.busy.items():
            if any(s < end + buf and e > start - buf for s, e in spans):
                ok[i] = False
        ok[[self.ids.index(x) for x in p["excluded_experts"]]] = False
        return ok

    def available(self, first: date, last: date) -> np.ndarray:
        """E2 and the leave half of E8 for a project held from `first` to `last`."""
        key = (first, last)
        if key not in self._available:
            ok = np.ones(self.n, bool)
            for i, e in enumerate(self.doc["experts"]):
                b = date.fromisoformat(e["birth_date"])
                age = first.year - b.year - ((first.month, first.day) < (b.month, b.day))
                ok[i] = age <= R.max_age and not any(
                    lv["from"] <= last.isoformat() and lv["to"] >= first.isoformat() for lv in e["leave"])
            self._available[key] = ok
        return self._available[key]

    def familiar(self, a: int, b: int, t: float) -> bool:
        """P2 for one pair before time t."""
        times = self.met.get(min(a, b) * self.n + max(a, b), [])
        return sum(t - R.familiar_pair_days * 86400 <= x < t for x in times) >= R.familiar_pair_count

    def free(self, room: str, p: Doc) -> int:
        """Seats of a room left during p (every overlapping use counted: conservative)."""
        start, end = parse_dt(p["start"]), parse_dt(p["end"])
        return self.seats[room] - sum(n for s, e, n in self.room_use[room] if s < end and e > start)

    def attempt(self, p: Doc, sites: list[str], ok: np.ndarray) -> list[tuple[int, str, str]] | None:
        """One randomized greedy committee at these sites, or None."""
        d, reps, main_site = p["size"] - p["representatives"], p["representatives"], sites[0]
        best = {s: max(self.sites[s]["rooms"], key=lambda r: self.free(r["id"], p))["id"] for s in sites}
        cap = {s: self.free(best[s], p) - (reps if s == main_site else 0) for s in sites}
        upper = d if len(sites) == 1 else max(R.min_main, math.floor(R.max_main_share * d))  # S2
        cap[main_site] = min(cap[main_site], upper)
        if any(c < 1 for c in cap.values()):
            return None
        t, local_cap = parse_dt(p["start"]).timestamp(), math.floor(R.max_local_share * d)
        reach = np.logical_or.reduce([self.reach[s] for s in sites])
        left = {n["specialty"]: n["count"] for n in p["needs"]}
        cands = {c: [int(i) for i in np.flatnonzero(ok & self.match[c] & reach)] for c in left}
        for pool in cands.values():
            self.rng.shuffle(pool)
        chosen: list[tuple[int, str, str]] = []

        def fits(i: int, site: str) -> bool:
            return (self.reach[site][i] and sum(s == site for *_, s in chosen) < cap[site]
                    and all(i != j and (self.employer[i] < 0 or self.employer[i] != self.employer[j])
                            and not self.familiar(i, j, t) for j, *_ in chosen)
                    and (self.pref[i] != p["region"][:4] or sum(self.pref[j] == p["region"][:4]
                                                                 for j, *_ in chosen) < local_cap))

        for site in [*sites[1:], main_site, *[None] * d]:  # one expert per site first, then the rest
            if len(chosen) == d:
                break
            placed = False
            for code in sorted((c for c in left if left[c]), key=lambda c: len(cands[c])):
                for i in cands[code]:
                    where = [site] if site else self.rng.sample(sites, len(sites))
                    spot = next((s for s in where if fits(i, s)), None)
                    if spot is not None:
                        chosen.append((i, code, spot))
                        left[code] -= 1
                        placed = True
                        break
                if placed:
                    break
            if not placed:
                return None
        return chosen if len(chosen) == d else None

    def draw(self, p: Doc) -> dict[str, Any]:
        """A committee for p (sites chosen at random when the project leaves them open), or infeasible."""
        ok = self.eligible(p)
        others = [s for s, v in self.sites.items() if v["active"] and s != p["main_site"]]
        options = ([p["aux_sites"]] * 3 if p["aux_sites"] is not None
                   else [self.rng.sample(others, R.aux_site_count) for _ in range(30)])
        for aux in options:
            sites = [p["main_site"], *aux]
            chosen = self.attempt(p, sites, ok)
            if chosen is None:
                continue
            rooms = {}
            for s in sites:
                need = sum(x == s for *_, x in chosen) + (p["representatives"] if s == p["main_site"] else 0)
                rooms[s] = max(self.sites[s]["rooms"], key=lambda r: self.free(r["id"], p))["id"]
                self.room_use[rooms[s]].append((parse_dt(p["start"]), parse_dt(p["end"]), need))
            for i, *_ in chosen:
                self.busy[i].append((parse_dt(p["start"]), parse_dt(p["end"])))
            seats = [{"expert": self.ids[i], "need": c, "site": s, "room": rooms[s]} for i, c, s in chosen]
            return {"project": p["id"], "status": "drawn", "aux_sites": list(aux), "seats": seats,
                    "alternates": [], "warnings": [], "unmet": []}
        unmet = [{"need": n["specialty"], "missing": n["count"], "eligible": 0, "rules": [], "advice": ""}
                 for n in p["needs"]]
        return {"project": p["id"], "status": "infeasible", "aux_sites": [], "seats": [], "alternates": [],
                "warnings": [], "unmet": unmet}

    def run(self) -> dict[str, Any]:
        """The whole day in a seeded random order, as a draw-result/1 document."""
        order = list(self.doc["projects"])
        self.rng.shuffle(order)
        return {"format": "draw-result/1", "projects": [self.draw(p) for p in order]}
