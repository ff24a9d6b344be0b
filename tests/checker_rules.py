"""The C, E, P and S rules of one result project, checked independently of the scheduler (S4 is day-wide)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from tests.checker_day import Day, seats_of
from tests.checker_util import Violation, add_years, age_on, haversine_km


def _date(text: str) -> date:
    return date.fromisoformat(text)


class ProjectRules:
    """C1-C4, E1-E9, P1, P2, S1-S3, S5 and S6 of one result project; D2 and D4 are in ProjectCheck."""

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

    def flag(self, rule: str, detail: str) -> None:
        """Record one violation of this project."""
        self.out.append(Violation(rule, self.pid, detail))

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
