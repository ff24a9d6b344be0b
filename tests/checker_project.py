"""One result project's full check: status (D4), the rules of ProjectRules and the alternates (D2)."""

from __future__ import annotations

import math
from typing import Any

from tests.checker_day import Day
from tests.checker_rules import ProjectRules
from tests.checker_util import Violation, seating_exists


class ProjectCheck(ProjectRules):
    """The rules of one result project (all but S4, which is checked day-wide)."""

    def __init__(self, day: Day, pid: str, rp: dict[str, Any]) -> None:
        super().__init__(day, pid, rp)
        self._seatable: dict[tuple[tuple[str, ...], ...], bool] = {}
        self._bounds: tuple[dict[str, int], dict[str, int]] | None = None

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
