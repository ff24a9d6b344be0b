"""The legal committees of a tiny one-project instance by brute force, without the engine (D1's ideal)."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from config.rules import RuleParams
from scheduler.instance import ExpertIn, Instance, ProjectIn, parse_instance
from tests.fairness_instances import EARTH_KM

Committee = frozenset[str]


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km (S3)."""
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dlon = math.radians(b[1] - a[1])
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_KM * math.asin(math.sqrt(h))


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _individually_eligible(inst: Instance, p: ProjectIn, rules: RuleParams, e: ExpertIn) -> bool:
    start = p.start
    day = start.date()
    conflict = {o for o in (p.tenderer, p.agent, *p.bidders) if o is not None}
    recent = [h for h in inst.history if e.id in h.experts]
    return (e.status == "active" and all(pen.expert != e.id for pen in inst.penalties)  # E1
            and _age(e.birth_date, day) <= rules.max_age  # E2
            and e.employer not in conflict  # E3
            and e.employer not in p.supervisor_orgs  # E5
            and sum(start - timedelta(days=30) <= h.start < start for h in recent) < rules.max_per_30d  # E6
            and sum(start - timedelta(days=365) <= h.start < start and h.tenderer == p.tenderer
                    for h in recent) < rules.max_same_tenderer_365d  # E7
            and e.id not in p.excluded_experts)  # E9


def _unsupported(inst: Instance) -> None:
    if len(inst.projects) != 1 or inst.relations or inst.bookings or inst.room_bookings:
        raise NotImplementedError("the brute-force enumerator handles one project, no relations/bookings")
    if any(e.leave for e in inst.experts) or inst.projects[0].aux_sites is None:
        raise NotImplementedError("the brute-force enumerator handles no leave and fixed auxiliary sites")


@dataclass(frozen=True)
class Legal:
    """Every legal committee of a one-project instance, with one legal seating {expert: (site, room)} each."""

    committees: list[Committee]
    seatings: list[dict[str, tuple[str, str]]]
    multi_need: bool


def enumerate_legal_seated(doc: dict[str, Any]) -> Legal:
    """Brute force: all assignments of experts to need seats satisfying C3/C4, E*, P1, P2, S1-S4, S6."""
    inst = parse_instance(doc)
    _unsupported(inst)
    rules = RuleParams().merged(inst.rules)
    p = inst.projects[0]
    drawn = p.size - p.representatives
    if p.size % 2 == 0 or Fraction(drawn) < rules.expert_share * p.size:
        raise ValueError("the instance itself breaks C1/C2")
    sites = {s.id: s for s in inst.sites}
    proj_sites = [p.main_site, *p.aux_sites] if p.aux_sites else [p.main_site]
    reach: dict[str, list[str]] = {}
    for e in inst.experts:
        near = [s for s in proj_sites if haversine_km((e.lat, e.lon), (sites[s].lat, sites[s].lon))
                <= rules.max_travel_km]
        if near and _individually_eligible(inst, p, rules, e):
            reach[e.id] = near
    experts = {e.id: e for e in inst.experts}
    match = {n.specialty: {x for x in reach if any(c.startswith(n.specialty) for c in experts[x].specialties)}
             for n in p.needs}
    pool = sorted(set().union(*match.values()))
    window = p.start - timedelta(days=rules.familiar_pair_days)
    together = Counter(pair for h in inst.history if window <= h.start < p.start
                       for pair in itertools.combinations(sorted(h.experts), 2))
    familiar = {pair for pair, k in together.items() if k >= rules.familiar_pair_count}
    local_cap = math.floor(rules.max_local_share * drawn)
    main_max = max(rules.min_main, math.floor(rules.max_main_share * drawn)) if p.aux_sites else drawn
    lows = {s: (rules.min_main if s == p.main_site else rules.min_per_aux_site) for s in proj_sites}
    highs = {s: (main_max if s == p.main_site else drawn) for s in proj_sites}

    def room_for(site: str, k: int) -> str | None:
        people = k + (p.representatives if site == p.main_site else 0)
        return next((r.id for r in sites[site].rooms if r.seats >= people), None) if people else ""

    def seating(group: tuple[str, ...]) -> dict[str, tuple[str, str]] | None:
        for choice in itertools.product(*(reach[x] for x in group)):
            load = Counter(choice)
            if all(lows[s] <= load[s] <= highs[s] for s in proj_sites):
                rooms = {s: room_for(s, load[s]) for s in proj_sites}
                if all(r is not None for r in rooms.values()):
                    return {x: (s, rooms[s] or "") for x, s in zip(group, choice, strict=True)}
        return None

    committees: list[Committee] = []
    seatings: list[dict[str, tuple[str, str]]] = []
    multi = len(p.needs) > 1
    for group in itertools.combinations(pool, drawn):
        employers = Counter(experts[x].employer for x in group if experts[x].employer is not None)
        if employers and max(employers.values()) > rules.max_same_employer:  # P1
            continue
        if any(pair in familiar for pair in itertools.combinations(group, 2)):  # P2
            continue
        if sum(experts[x].region[:4] == p.region[:4] for x in group) > local_cap:  # S6
            continue
        seats = seating(group)
        if seats is None:
            continue
        for assignment in _assignments(set(group), [(n.specialty, n.count) for n in p.needs], match):
            committees.append(frozenset(f"{need}:{x}" if multi else x for need, x in assignment))
            seatings.append(seats)
    return Legal(committees, seatings, multi)


def _assignments(left: set[str], needs: list[tuple[str, int]],
                 match: dict[str, set[str]]) -> Iterable[list[tuple[str, str]]]:
    # Each need takes `count` of the remaining experts that match it (C3); all must be used (C4, exact fill).
    if not needs:
        if not left:
            yield []
        return
    (code, count), rest = needs[0], needs[1:]
    for chosen in itertools.combinations(sorted(left & match[code]), count):
        for tail in _assignments(left - set(chosen), rest, match):
            yield [(code, x) for x in chosen] + tail


def enumerate_legal(doc: dict[str, Any]) -> list[Committee]:
    """All legal committees of a one-project instance (expert ids; `need:expert` with several needs)."""
    return enumerate_legal_seated(doc).committees
