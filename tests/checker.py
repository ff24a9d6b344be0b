"""Independent checker of draw results (draw-result/1) against draw-rules.md: the test suite's oracle.

Written from the spec text alone and sharing no code with scheduler/solver, draw.py or encoder.py, so
that a misreading of a rule in the solver cannot hide behind the same misreading here.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
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


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _date(text: str) -> date:
    return date.fromisoformat(text)


class Day:
    """Indexes over one instance and one result, so each project is checked in time linear in its size."""

    def __init__(self, instance: dict[str, Any], result: dict[str, Any], params: RuleParams) -> None:
        self.params = params
        self.experts = {e["id"]: e for e in instance.get("experts") or []}
        self.sites = {s["id"]: s for s in instance.get("sites") or []}
        rooms = [(s["id"], r) for s in self.sites.values() for r in s.get("rooms") or []]
        self.room_site = {r["id"]: site for site, r in rooms}
        self.room_seats = {r["id"]: int(r["seats"]) for _, r in rooms}
        self.relations: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for rel in instance.get("relations") or []:
            self.relations[rel["expert"]].append(rel)
        self.penalized = {pen["expert"] for pen in instance.get("penalties") or []}
        self.history = [
            (_dt(h["start"]), _dt(h["end"]), h.get("tenderer"), frozenset(h.get("experts") or []),
             h.get("project"))
            for h in instance.get("history") or []
        ]
        self.history_of: dict[str, list[int]] = defaultdict(list)
        for i, h in enumerate(self.history):
            for x in h[3]:
                self.history_of[x].append(i)
        self.bookings: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
        for b in instance.get("bookings") or []:
            self.bookings[b["expert"]].append((_dt(b["start"]), _dt(b["end"])))
        self.projects = {p["id"]: p for p in instance.get("projects") or []}
        self.window = {pid: (_dt(p["start"]), _dt(p["end"])) for pid, p in self.projects.items()}
        self.results: dict[str, dict[str, Any]] = {}
        for rp in result.get("projects") or []:
            if isinstance(rp, dict) and rp.get("project") in self.projects:
                self.results.setdefault(rp["project"], rp)
        self.seated: dict[str, set[str]] = defaultdict(set)
        # room -> (start, end, people, owning project or None for a room booking)
        self.room_use: dict[str, list[tuple[datetime, datetime, int, str | None]]] = defaultdict(list)
        for rb in instance.get("room_bookings") or []:
            self.room_use[rb["room"]].append((_dt(rb["start"]), _dt(rb["end"]), int(rb["seats"]), None))
        for pid, rp in self.results.items():
            per_room = Counter(s["room"] for s in seats_of(rp) if s["room"] in self.room_seats)
            main_rooms = sorted(r for r in per_room if self.room_site[r] == self.projects[pid]["main_site"])
            for room, count in per_room.items():
                reps = int(self.projects[pid].get("representatives", 0)) if main_rooms[:1] == [room] else 0
                self.room_use[room].append((*self.window[pid], count + reps, pid))
            for seat in seats_of(rp):
                self.seated[seat["expert"]].add(pid)

    def free_seats(self, room: str, pid: str) -> int:
        """Seats of `room` left during project `pid` by everything else in the day."""
        start, end = self.window[pid]
        others = [(max(s, start), min(e, end), n) for s, e, n, owner in self.room_use[room] if owner != pid]
        return self.room_seats[room] - peak_load(others)[0]


def seats_of(rp: dict[str, Any]) -> list[dict[str, str]]:
    """The seats of a result project, each field as a string ("" when missing, which no id equals)."""
    fields = ("expert", "need", "site", "room")
    return [{k: str(s.get(k) or "") for k in fields} for s in rp.get("seats") or [] if isinstance(s, dict)]


def check(instance: dict[str, Any], result: dict[str, Any], *, defaults: dict[str, Any] | None = None
          ) -> list[Violation]:
    """Every rule violation of a draw-result/1 against its draw-instance/1 (empty list = legal)."""
    day = Day(instance, result, effective_params(instance, defaults))
    out: list[Violation] = []
    if result.get("format") != RESULT_FORMAT:
        out.append(Violation("FORMAT", None, f"format is {result.get('format')!r}, not {RESULT_FORMAT!r}"))
    listed = Counter(rp.get("project") for rp in result.get("projects") or [] if isinstance(rp, dict))
    for pid in day.projects:
        if listed[pid] != 1:
            out.append(Violation("FORMAT", pid, f"project appears {listed[pid]} times in the result"))
    for pid in listed:
        if pid not in day.projects:
            out.append(Violation("FORMAT", pid, "the result names a project the instance does not have"))
    for pid, rp in day.results.items():
        out += ProjectCheck(day, pid, rp).run()
    out += _room_capacity(day)
    return out


def _room_capacity(day: Day) -> list[Violation]:
    out = []
    for room in sorted(day.room_use):
        if room not in day.room_seats:
            continue
        peak, moment = peak_load((s, e, n) for s, e, n, _ in day.room_use[room])
        if peak > day.room_seats[room]:
            owners = sorted({o for _, _, _, o in day.room_use[room] if o})
            out.append(Violation(
                "S4", owners[0] if len(owners) == 1 else None,
                f"room {room} holds {peak} people at {moment.isoformat() if moment else '?'} but has "
                f"{day.room_seats[room]} seats (projects {', '.join(owners) or 'none'})",
            ))
    return out


class ProjectCheck:
    """The rules of one result project (all but S4, which is checked day-wide)."""

    def __init__(self, day: Day, pid: str, rp: dict[str, Any]) -> None:
        self.day, self.pid, self.rp, self.params = day, pid, rp, day.params
        self.p = day.projects[pid]
        self.start, self.end = day.window[pid]
        self.eval_date, self.end_date = self.start.date(), self.end.date()
        parties = [self.p.get("tenderer"), self.p.get("agent"), *(self.p.get("bidders") or [])]
        self.parties = {x for x in parties if x}
        self.needs = {n["specialty"]: int(n["count"]) for n in self.p.get("needs") or []}
        self.seats = seats_of(rp)
        self.members = list(dict.fromkeys(s["expert"] for s in self.seats if s["expert"] in day.experts))
        self.aux: list[str] = []
        self.site_ids: list[str] = [self.p["main_site"]]
        self.p1_ok = self.p2_ok = self.s6_ok = True
        self.out: list[Violation] = []
        self._pair_hist: dict[str, set[int]] = {}
        self._seatable: dict[tuple[tuple[str, ...], ...], bool] = {}
        self._bounds: tuple[dict[str, int], dict[str, int]] | None = None

    def flag(self, rule: str, detail: str) -> None:
        """Record one violation of this project."""
        self.out.append(Violation(rule, self.pid, detail))

    def run(self) -> list[Violation]:
        """Check the project; return its violations."""
        status = self.rp.get("status")
        if status == "infeasible":
            if self.seats:
                self.flag("D4", f"infeasible project holds {len(self.seats)} seats")
            if not self.rp.get("unmet"):
                self.flag("D4", "infeasible project lists no unmet need")
        elif status != "drawn":
            self.flag("FORMAT", f"status {status!r} is neither 'drawn' nor 'infeasible'")
        else:
            self.check_committee()
            for eid in self.members:
                for rule, detail in self.faults(eid):
                    self.flag(rule, f"expert {eid}: {detail}")
            self.check_pairs()
            self.check_sites()
            self.check_alternates()
        return self.out

    # --- helpers -------------------------------------------------------------------------------
    def expert(self, eid: str) -> dict[str, Any]:
        """The instance's expert object."""
        return self.day.experts[eid]

    def matches(self, eid: str, code: str) -> bool:
        """C3: one of the expert's specialty codes starts with the need's code."""
        return any(sp.startswith(code) for sp in self.expert(eid).get("specialties") or [])

    def is_local(self, eid: str) -> bool:
        """S6: the expert's home region shares the project's prefecture (first 4 digits)."""
        return str(self.expert(eid)["region"])[:4] == str(self.p["region"])[:4]

    def km(self, eid: str, site: str) -> float:
        """Distance from the expert's home to the site."""
        e, s = self.expert(eid), self.day.sites[site]
        return haversine_km(float(e["lat"]), float(e["lon"]), float(s["lat"]), float(s["lon"]))

    def history_since(self, eid: str, days: int) -> list[int]:
        """Indexes of `history` committees of the expert starting in [start - days, start)."""
        first = self.start - timedelta(days=days)
        return [i for i in self.day.history_of.get(eid, []) if first <= self.day.history[i][0] < self.start]

    def pair_history(self, eid: str) -> set[int]:
        """P2's window of the expert's past committees."""
        if eid not in self._pair_hist:
            self._pair_hist[eid] = set(self.history_since(eid, self.params.familiar_pair_days))
        return self._pair_hist[eid]

    def main_cap(self, drawn: int) -> int:
        """S2's upper bound on the main site."""
        return max(self.params.min_main, math.floor(self.params.max_main_share * drawn))

    # --- C1-C4 ---------------------------------------------------------------------------------
    def check_committee(self) -> None:
        """C1 to C4."""
        P, p = self.params, self.p
        size, reps = int(p["size"]), int(p.get("representatives", 0))
        proc, budget = p.get("procedure"), p["budget"]
        minimum = P.min_size.get(str(proc))
        if minimum is None:
            self.flag("C1", f"no minimum size for procedure {proc!r}")
        else:
            if proc == "gp_tender" and budget >= P.gp_large_budget:
                minimum = max(minimum, P.gp_large_min_size)
            if proc == "gp_negotiation" and budget > P.gp_public_tender_threshold:
                minimum = max(minimum, P.gp_negotiation_above_threshold_min_size)
            if size % 2 == 0 or size < minimum:
                self.flag("C1", f"size {size} must be odd and at least {minimum} ({proc}, budget {budget})")
        drawn = len(self.seats)
        if drawn != size - reps:
            self.flag("C2", f"{drawn} seats, but size {size} - representatives {reps} = {size - reps}")
        if drawn < math.ceil(P.expert_share * size):
            self.flag("C2", f"{drawn} drawn experts < ceil({P.expert_share} x {size})")
        per_need = Counter(s["need"] for s in self.seats)
        for code, count in self.needs.items():
            if per_need[code] != count:
                self.flag("C3", f"need {code} wants {count} experts, has {per_need[code]}")
        for seat in self.seats:
            eid, need = seat["expert"], seat["need"]
            if eid not in self.day.experts:
                self.flag("FORMAT", f"seat names unknown expert {eid!r}")
            elif need not in self.needs:
                self.flag("FORMAT", f"expert {eid} sits on {need!r}, which is not a need of the project")
            elif not self.matches(eid, need):
                self.flag("C3", f"expert {eid} has no specialty under {need}")
        for eid, count in Counter(s["expert"] for s in self.seats).items():
            if count > 1:
                self.flag("C4", f"expert {eid} holds {count} seats")

    # --- E1-E9 ---------------------------------------------------------------------------------
    def faults(self, eid: str) -> list[tuple[str, str]]:
        """E1 to E9 for one expert on this project, as (rule, detail) pairs."""
        P, p, day, e = self.params, self.p, self.day, self.expert(eid)
        out: list[tuple[str, str]] = []
        if e.get("status", "active") != "active":
            out.append(("E1", f"status is {e.get('status')}"))
        if eid in day.penalized:
            out.append(("E1", "has a penalty record"))
        age = age_on(_date(e["birth_date"]), self.eval_date)
        if age > P.max_age:
            out.append(("E2", f"aged {age} on {self.eval_date} > {P.max_age}"))
        employer = e.get("employer")
        if employer is not None and employer in self.parties:
            out.append(("E3", f"employer {employer} is the tenderer, the agent or a bidder"))
        for rel in day.relations.get(eid, []):
            if rel["org"] in self.parties and (
                rel.get("to") is None
                or self.eval_date <= add_years(_date(rel["to"]), P.relation_lookback_years)
            ):
                out.append(("E4", f"{rel['kind']} relation with {rel['org']} (to {rel.get('to')})"))
        if employer is not None and employer in set(p.get("supervisor_orgs") or []):
            out.append(("E5", f"employer {employer} supervises the project"))
        recent = len(self.history_since(eid, 30))
        if recent >= P.max_per_30d:
            out.append(("E6", f"{recent} committees in the 30 days before"))
        same = [i for i in self.history_since(eid, 365) if day.history[i][2] == p["tenderer"]]
        if len(same) >= P.max_same_tenderer_365d:
            out.append(("E7", f"{len(same)} committees of tenderer {p['tenderer']} in the 365 days before"))
        for lv in e.get("leave") or []:
            if _date(lv["from"]) <= self.end_date and _date(lv["to"]) >= self.eval_date:
                out.append(("E8", f"on leave {lv['from']}..{lv['to']}"))
        buffer = timedelta(minutes=P.travel_buffer_minutes)
        lo, hi = self.start - buffer, self.end + buffer
        busy = [("booking", s, t) for s, t in day.bookings.get(eid, [])]
        # A history entry of this very project (a re-export after the draw) is not "another" committee.
        past = [day.history[i] for i in day.history_of.get(eid, [])]
        busy += [(f"committee {h[4]}", h[0], h[1]) for h in past if h[4] != self.pid]
        busy += [(f"project {q}", *day.window[q]) for q in sorted(day.seated.get(eid, set()) - {self.pid})]
        for what, s, t in busy:
            if s < hi and t > lo:
                out.append(("E8", f"{what} {s.isoformat()}..{t.isoformat()} overlaps (buffer {buffer})"))
        if eid in set(p.get("excluded_experts") or []):
            out.append(("E9", "excluded from this project"))
        return out

    # --- P1, P2 --------------------------------------------------------------------------------
    def check_pairs(self) -> None:
        """P1 and P2 over the seated experts."""
        P = self.params
        by_employer: dict[str, list[str]] = defaultdict(list)
        for eid in self.members:
            if self.expert(eid).get("employer") is not None:
                by_employer[self.expert(eid)["employer"]].append(eid)
        for employer, eids in sorted(by_employer.items()):
            if len(eids) > P.max_same_employer:
                self.p1_ok = False
                self.flag("P1", f"experts {', '.join(eids)} all work for {employer}")
        for i, a in enumerate(self.members):
            for b in self.members[i + 1:]:
                together = len(self.pair_history(a) & self.pair_history(b))
                if together >= P.familiar_pair_count:
                    self.p2_ok = False
                    self.flag("P2", f"experts {a} and {b} sat together on {together} recent committees")

    # --- S1-S3, S5, S6 -------------------------------------------------------------------------
    def check_sites(self) -> None:
        """S1, S2, S3, S5 and S6 (S4 is day-wide)."""
        P, day, main = self.params, self.day, self.p["main_site"]
        inst_aux, res_aux = self.p.get("aux_sites"), self.rp.get("aux_sites")
        if inst_aux is not None and res_aux is not None and set(res_aux) != set(inst_aux):
            self.flag("S1", f"auxiliary sites {sorted(res_aux)} differ from the instance's {inst_aux}")
        chosen = list(res_aux if res_aux is not None else inst_aux or [])
        if inst_aux is None:
            if len(set(chosen)) != len(chosen) or len(chosen) != P.aux_site_count:
                self.flag("S5", f"auxiliary sites {chosen} are not {P.aux_site_count} distinct sites")
            for site in chosen:
                if site == main or site not in day.sites or not day.sites[site].get("active", True):
                    self.flag("S5", f"auxiliary site {site} is the main site, unknown or inactive")
        self.aux = [s for s in dict.fromkeys(chosen) if s != main]
        self.site_ids = [main, *self.aux]
        if main not in day.sites or not day.sites[main].get("active", True):
            self.flag("S5", f"main site {main} is unknown or inactive")
        rooms_at: dict[str, set[str]] = defaultdict(set)
        for seat in self.seats:
            eid, site, room = seat["expert"], seat["site"], seat["room"]
            if site not in day.sites:
                self.flag("FORMAT", f"expert {eid} sits at unknown site {site!r}")
                continue
            if site not in self.site_ids:
                self.flag("S1", f"expert {eid} sits at {site}, not a site of the project")
            if room not in day.room_site:
                self.flag("FORMAT", f"expert {eid} sits in unknown room {room!r}")
            elif day.room_site[room] != site:
                self.flag("S1", f"expert {eid} sits in room {room}, which is not at site {site}")
            else:
                rooms_at[site].add(room)
            if eid in day.experts and self.km(eid, site) > P.max_travel_km:
                self.flag("S3", f"expert {eid} lives {self.km(eid, site):.1f} km from {site}")
        for site, rooms in sorted(rooms_at.items()):
            if len(rooms) > 1:
                self.flag("S1", f"experts at {site} are split over rooms {sorted(rooms)}")
        counts = Counter(s["site"] for s in self.seats if s["site"] in day.sites)
        for site in sorted(counts):
            if site != main and not day.sites[site].get("active", True):
                self.flag("S5", f"site {site} is used but inactive")
        drawn = len(self.seats)
        if counts[main] < P.min_main or (self.aux and counts[main] > self.main_cap(drawn)):
            self.flag("S2", f"main site {main} holds {counts[main]} of {drawn} drawn experts")
        for site in self.aux:
            if counts[site] < P.min_per_aux_site:
                self.flag("S2", f"auxiliary site {site} holds {counts[site]} < {P.min_per_aux_site} experts")
        local = [eid for eid in self.members if self.is_local(eid)]
        if len(local) > math.floor(P.max_local_share * drawn):
            self.s6_ok = False
            self.flag("S6", f"{len(local)} local experts ({', '.join(local)}) of {drawn}")

    # --- D2 ------------------------------------------------------------------------------------
    def check_alternates(self) -> None:
        """D2: enough alternates per need, each eligible and able to replace every member of its need."""
        P = self.params
        relaxed = any(isinstance(w, str) and "D2" in w for w in self.rp.get("warnings") or [])
        lists: dict[str, list[str]] = {}
        for entry in self.rp.get("alternates") or []:
            need = entry.get("need")
            if need not in self.needs or need in lists:
                self.flag("D2", f"alternates listed for {need!r}, unknown or repeated need")
                continue
            lists[need] = list(entry.get("experts") or [])
        seen: set[str] = set()
        for code in self.needs:
            alternates = lists.get(code, [])
            if len(alternates) < P.alternates_per_need and not relaxed:
                self.flag("D2", f"need {code} has {len(alternates)} alternates < {P.alternates_per_need}")
            holders = [s["expert"] for s in self.seats if s["need"] == code and s["expert"] in self.members]
            for alt in alternates:
                if alt in seen or alt in self.members or alt not in self.day.experts:
                    self.flag("D2", f"alternate {alt} for {code} is repeated, seated or unknown")
                    seen.add(alt)
                    continue
                seen.add(alt)
                for rule, detail in self.faults(alt):
                    self.flag(rule, f"alternate {alt} for {code}: {detail}")
                if not self.matches(alt, code):
                    self.flag("C3", f"alternate {alt} has no specialty under {code}")
                for member in dict.fromkeys(holders):
                    for problem in self.replacement_faults(member, alt):
                        self.flag("D2", f"alternate {alt} cannot replace {member} on {code}: {problem}")

    def replacement_faults(self, member: str, alt: str) -> list[str]:
        """What breaks when `alt` replaces `member` (rules the committee already breaks are not repeated)."""
        P = self.params
        committee = [x for x in self.members if x != member] + [alt]
        found = []
        employer = self.expert(alt).get("employer")
        same = sum(1 for x in committee if self.expert(x).get("employer") == employer) if employer else 0
        if self.p1_ok and same > P.max_same_employer:
            found.append(f"P1: {same} experts of {employer}")
        for x in committee[:-1] if self.p2_ok else []:
            together = len(self.pair_history(alt) & self.pair_history(x))
            if together >= P.familiar_pair_count:
                found.append(f"P2: sat with {x} on {together} recent committees")
        local = sum(1 for x in committee if self.is_local(x))
        if self.s6_ok and local > math.floor(P.max_local_share * len(self.seats)):
            found.append(f"S6: {local} local experts")
        if not self.can_seat(committee):
            found.append(f"S1-S4: no legal seating at sites {self.site_ids}")
        return found

    def can_seat(self, committee: list[str]) -> bool:
        """Whether some seating of `committee` at this project's sites satisfies S1 to S4."""
        allowed = [self.allowed_sites(x) for x in committee]
        key = tuple(sorted(tuple(sorted(a)) for a in allowed))
        if key not in self._seatable:
            self._seatable[key] = seating_exists(allowed, *self.site_bounds())
        return self._seatable[key]

    def allowed_sites(self, eid: str) -> frozenset[str]:
        """Active project sites within the expert's travel range (S3, S5)."""
        sites = self.day.sites
        return frozenset(
            s for s in self.site_ids
            if s in sites and sites[s].get("active", True) and self.km(eid, s) <= self.params.max_travel_km
        )

    def site_bounds(self) -> tuple[dict[str, int], dict[str, int]]:
        """Per-site (lo, hi) expert counts allowed by S2 and by the best room's free seats (S4)."""
        if self._bounds is None:
            P, main, drawn = self.params, self.p["main_site"], len(self.seats)
            reps = int(self.p.get("representatives", 0))
            lo: dict[str, int] = {}
            hi: dict[str, int] = {}
            for site in self.site_ids:
                rooms = [r["id"] for r in (self.day.sites.get(site) or {}).get("rooms") or []]
                free = max((self.day.free_seats(r, self.pid) for r in rooms), default=0)
                if site == main:
                    lo[site] = P.min_main
                    upper = self.main_cap(drawn) if self.aux else drawn
                    # The representatives need the main room even when no expert sits there.
                    hi[site] = -1 if reps and free < reps else max(0, min(upper, free - reps))
                else:
                    lo[site], hi[site] = P.min_per_aux_site, max(0, min(drawn, free))
            self._bounds = (lo, hi)
        return self._bounds
