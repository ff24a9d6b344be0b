"""Rule D1 measured: tiny instances, their legal committees by brute force, calibrated chi-square tests."""

from __future__ import annotations

import hashlib
import itertools
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

import numpy as np

from config.rules import RuleParams
from scheduler.instance import ExpertIn, Instance, ProjectIn, parse_instance

DrawFn = Callable[[dict[str, Any], str], dict[str, Any]]
Committee = frozenset[str]
EARTH_KM = 6371.0088
KM_PER_DEG = math.pi * EARTH_KM / 180
START, END = "2026-11-23T09:00:00+08:00", "2026-11-23T12:00:00+08:00"
JN = (36.651, 117.120)


# ---------------------------------------------------------------- instances


def _at(origin: tuple[float, float], north_km: float, east_km: float) -> tuple[float, float]:
    lat = origin[0] + north_km / KM_PER_DEG
    return round(lat, 6), round(origin[1] + east_km / (KM_PER_DEG * math.cos(math.radians(origin[0]))), 6)


def _expert(i: int, pos: tuple[float, float], region: str, specs: Sequence[str] = ("A0801",),
            employer: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": f"E{i:03d}", "name": f"专家{i:03d}", "birth_date": "1970-05-01", "region": region,
            "lat": pos[0], "lon": pos[1], "employer": employer or f"ORG-E{i:03d}",
            "specialties": list(specs), "status": "active", **extra}


def _site(sid: str, region: str, pos: tuple[float, float], rooms: dict[str, int]) -> dict[str, Any]:
    return {"id": sid, "name": sid, "region": region, "lat": pos[0], "lon": pos[1], "active": True,
            "rooms": [{"id": r, "seats": s} for r, s in rooms.items()]}


def _doc(sites: list[dict[str, Any]], experts: list[dict[str, Any]], project: dict[str, Any],
         **extra: Any) -> dict[str, Any]:
    orgs = {e["employer"] for e in experts} | {"ORG-T", "ORG-A", "ORG-B1", "ORG-B2", "ORG-S", "ORG-H"}
    project = {"name": project["id"], "region": "370102", "tenderer": "ORG-T", "agent": "ORG-A",
               "bidders": ["ORG-B1", "ORG-B2"], "supervisor_orgs": ["ORG-S"], "start": START, "end": END,
               "excluded_experts": [], **project}
    return {"format": "draw-instance/1", "rules": extra.pop("rules", {}), "sites": sites,
            "orgs": [{"id": o, "name": o} for o in sorted(orgs)], "experts": experts,
            "projects": [project], **extra}


def instance_uniform() -> dict[str, Any]:
    """(a) 30 interchangeable eligible experts (plus ineligible decoys), one need of 3, main site only."""
    ex = [_expert(i, _at(JN, -40 - 3 * (i % 5), 2 * (i % 7) - 6), "370902") for i in range(1, 31)]
    ex[28]["birth_date"] = "1961-11-23"  # exactly 65 on the day: still eligible (E2)
    decoys = [
        _expert(31, _at(JN, -45, 0), "370902", birth_date="1960-11-23"),  # 66: E2
        _expert(32, _at(JN, -45, 1), "370902", status="suspended"),  # E1
        _expert(33, _at(JN, -45, 2), "370902", employer="ORG-B1"),  # works for a bidder: E3
        _expert(34, _at(JN, -45, 3), "370902"),  # penalty record: E1
        _expert(35, _at(JN, -45, 4), "370902"),  # declined earlier: E9
        _expert(36, _at(JN, -150, 0), "370902"),  # 150 km from the only site: S3
        _expert(37, _at(JN, -45, 5), "370902", specs=["A0601"]),  # wrong specialty: C3
        _expert(38, _at(JN, -45, 6), "370902", employer="ORG-S"),  # supervising department: E5
    ]
    project = {"id": "P-UNIFORM", "procedure": "gp_negotiation", "budget": 800_000, "size": 3,
               "representatives": 0, "main_site": "JN", "aux_sites": [],
               "needs": [{"specialty": "A08", "count": 3}], "excluded_experts": ["E035"]}
    return _doc([_site("JN", "370100", JN, {"JN-R1": 9})], ex + decoys, project,
                penalties=[{"expert": "E034", "date": "2024-03-01", "reason": "串标"}])


def instance_employer_pairs() -> dict[str, Any]:
    """(b) P1 couples experts: 6 employers with 2 experts each and 4 singletons, need of 4, main only."""
    ex = [_expert(i, _at(JN, -30 - i, 5), "370902",
                  employer=f"ORG-P{(i + 1) // 2}" if i <= 12 else None) for i in range(1, 17)]
    project = {"id": "P-PAIRS", "procedure": "engineering_tender", "budget": 5_000_000, "size": 5,
               "representatives": 1, "main_site": "JN", "aux_sites": [],
               "needs": [{"specialty": "A08", "count": 4}]}
    return _doc([_site("JN", "370100", JN, {"JN-R1": 9})], ex, project)


# (c): main M, A1 130 km north, A2 130 km east; (north, east) offsets in km from M of each expert.
_M = (36.0, 117.0)
_THREE_SITES: list[tuple[tuple[float, float], Sequence[str]]] = [
    ((-10, -25), ["A0801"]), ((12, -22), ["A0801"]), ((-30, 8), ["A080102"]),  # M only
    ((5, -35), ["A0601"]), ((-20, -20), ["A0602"]), ((25, -15), ["A0801", "A0601"]), ((-35, -5), ["A0801"]),
    ((150, -20), ["A0801"]), ((145, -30), ["A0601"]),  # A1 only
    ((-20, 150), ["A0801"]), ((-25, 140), ["A0602"]), ((-30, 155), ["A0801", "A0602"]),  # A2 only
    ((60, 10), ["A0601"]), ((70, -5), ["A0801"]),  # M and A1 (60-75 km)
    ((10, 60), ["A0801"]), ((-5, 70), ["A0601"]),  # M and A2
    ((80, 80), ["A0801"]), ((82, 80), ["A0802", "A0601"]),  # A1 and A2, over 100 km from M
    ((-40, -120), ["A0801"]),  # 126 km from M, farther from the others: S3
    ((0, -30), ["A0701"]),  # no matching specialty: C3
]


def instance_three_sites() -> dict[str, Any]:
    """(c) a main site and 2 fixed auxiliary sites; needs A08×3 + A06×2; S2 quotas and S3 couple experts."""
    ex = [_expert(i, _at(_M, n, e), "370902", specs) for i, ((n, e), specs) in enumerate(_THREE_SITES, 1)]
    sites = [_site("M", "370100", _M, {"M-R1": 10}),
             _site("A1", "370300", _at(_M, 130, 0), {"A1-R1": 2, "A1-R2": 6}),
             _site("A2", "370700", _at(_M, 0, 130), {"A2-R1": 6})]
    project = {"id": "P-SITES", "procedure": "engineering_tender", "budget": 30_000_000, "size": 5,
               "representatives": 0, "main_site": "M", "aux_sites": ["A1", "A2"],
               "needs": [{"specialty": "A08", "count": 3}, {"specialty": "A06", "count": 2}]}
    return _doc(sites, ex, project)


def instance_local_share() -> dict[str, Any]:
    """(d) S6 binding: 8 of 14 experts local to the project's prefecture, at most 2 of 4 local; P2 pairs."""
    ex = [_expert(i, _at(JN, 10 + i, -5), "370112" if i <= 8 else "370902") for i in range(1, 15)]
    day = datetime.fromisoformat(START)
    hist = [(40, ["E009", "E010", "E011"]), (70, ["E009", "E010"]),  # E009+E010: twice in 180 days
            (180, ["E011", "E012"]), (114, ["E011", "E012"]),  # E011+E012: the window's first instant counts
            (181, ["E013", "E014"]), (100, ["E013", "E014"])]  # E013+E014: once in the window, allowed
    history = [{"project": f"H-{k}", "tenderer": "ORG-H", "start": (day - timedelta(days=d)).isoformat(),
                "end": (day - timedelta(days=d) + timedelta(hours=3)).isoformat(), "experts": xs}
               for k, (d, xs) in enumerate(hist)]
    project = {"id": "P-LOCAL", "procedure": "engineering_tender", "budget": 5_000_000, "size": 5,
               "representatives": 1, "main_site": "JN", "aux_sites": [],
               "needs": [{"specialty": "A08", "count": 4}]}
    return _doc([_site("JN", "370100", JN, {"JN-R1": 9})], ex, project,
                rules={"max_local_share": "1/2"}, history=history)


INSTANCES: dict[str, Callable[[], dict[str, Any]]] = {
    "uniform": instance_uniform, "employer_pairs": instance_employer_pairs,
    "three_sites": instance_three_sites, "local_share": instance_local_share,
}


# ---------------------------------------------------------------- brute-force legal committees


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


# ---------------------------------------------------------------- statistics


def inclusion_ideal(committees: Sequence[Committee]) -> dict[str, float]:
    """Each key's inclusion probability when committees are drawn uniformly."""
    counts = Counter(k for c in committees for k in c)
    return {k: v / len(committees) for k, v in sorted(counts.items())}


def pairs_of(committee: Committee) -> list[str]:
    """The unordered pairs of a committee's keys, as `a+b` strings."""
    return [f"{a}+{b}" for a, b in itertools.combinations(sorted(committee), 2)]


def pair_ideal(committees: Sequence[Committee]) -> dict[str, float]:
    """Each pair's joint inclusion probability under uniform committees."""
    counts = Counter(pr for c in committees for pr in pairs_of(c))
    return {k: v / len(committees) for k, v in sorted(counts.items())}


def chi_square(counts: dict[str, int], ideal: dict[str, float], n_draws: int) -> float:
    """Σ (obs−exp)²/exp over keys with exp > 0; infinity when a key of ideal probability 0 was drawn."""
    if any(v and ideal.get(k, 0.0) <= 0.0 for k, v in counts.items()):
        return math.inf
    return sum((counts.get(k, 0) - n_draws * q) ** 2 / (n_draws * q) for k, q in ideal.items() if q > 0)


def _matrix(committees: Sequence[Committee], statistic: str) -> tuple[np.ndarray, np.ndarray]:
    items = [pairs_of(c) if statistic == "pairs" else sorted(c) for c in committees]
    keys = sorted({k for it in items for k in it})
    col = {k: j for j, k in enumerate(keys)}
    m = np.zeros((len(items), len(keys)), dtype=np.float64)
    for i, it in enumerate(items):
        m[i, [col[k] for k in it]] = 1.0
    return m, m.mean(axis=0)


def calibration_samples(committees: Sequence[Committee], n_draws: int, reps: int, rng: np.random.Generator,
                        *, statistic: str = "inclusion") -> np.ndarray:
    """chi_square ("inclusion" or "pairs") of `reps` batches of `n_draws` perfectly uniform draws."""
    m, p = _matrix(committees, statistic)
    n_c, exp = len(committees), n_draws * p
    stats: list[np.ndarray] = []
    chunk = max(1, min(reps, 4_000_000 // max(n_c, 1)))
    for lo in range(0, reps, chunk):
        k = min(chunk, reps - lo)
        idx = rng.integers(0, n_c, size=(k, n_draws)) + (np.arange(k) * n_c)[:, None]
        per_committee = np.bincount(idx.ravel(), minlength=k * n_c).reshape(k, n_c).astype(np.float64)
        obs = per_committee @ m
        stats.append((((obs - exp) ** 2) / exp).sum(axis=1))
    return np.concatenate(stats)


def calibrate(committees: Sequence[Committee], n_draws: int, reps: int, rng: np.random.Generator,
              *, statistic: str = "inclusion", quantile: float = 0.995) -> float:
    """The `quantile` of chi_square over `reps` batches of `n_draws` draws of a perfect uniform sampler."""
    samples = calibration_samples(committees, n_draws, reps, rng, statistic=statistic)
    return float(np.quantile(samples, quantile))


# ---------------------------------------------------------------- samplers and evaluation


def seed_for(i: int, prefix: str = "fair") -> str:
    """The i-th fixed seed of a batch: sha256 of `prefix-i`, hex."""
    return hashlib.sha256(f"{prefix}-{i}".encode()).hexdigest()


class PerfectSampler:
    """Draws from the enumerated legal committees, uniformly unless `favour` multiplies some keys' weights."""

    def __init__(self, doc: dict[str, Any], legal: Legal, favour: dict[str, float] | None = None) -> None:
        self.project = doc["projects"][0]
        self.legal = legal
        weights = np.array([math.prod((favour or {}).get(k, 1.0) for k in c) for c in legal.committees])
        self.cdf = np.cumsum(weights)

    def __call__(self, doc: dict[str, Any], seed_hex: str) -> dict[str, Any]:
        """A draw-result/1 dict holding one committee (no alternates)."""
        rng = np.random.default_rng(int(seed_hex, 16))
        return self.draw_index(int(np.searchsorted(self.cdf, rng.random() * self.cdf[-1], side="right")))

    def draw_index(self, i: int) -> dict[str, Any]:
        """The result for the i-th enumerated committee, seated as enumerated."""
        only_need = self.project["needs"][0]["specialty"]
        seats = []
        for key in sorted(self.legal.committees[i]):
            need, _, expert = key.rpartition(":") if self.legal.multi_need else (only_need, "", key)
            site, room = self.legal.seatings[i][expert]
            seats.append({"expert": expert, "need": need, "site": site, "room": room})
        return {"format": "draw-result/1", "projects": [{
            "project": self.project["id"], "status": "drawn", "sampling": "exact",
            "aux_sites": list(self.project["aux_sites"] or []), "seats": seats, "alternates": [],
            "warnings": [], "unmet": []}]}


def committee_of(project_result: dict[str, Any], multi_need: bool) -> Committee | None:
    """The committee key of one project's result, None when it was not drawn."""
    if project_result.get("status") != "drawn":
        return None
    seats = project_result["seats"]
    return frozenset(f"{s['need']}:{s['expert']}" if multi_need else s["expert"] for s in seats)


@dataclass(frozen=True)
class Case:
    """A fairness instance with its legal committees and calibrated 99.5% thresholds."""

    name: str
    doc: dict[str, Any]
    legal: Legal
    ideal: dict[str, float]
    pair_ideal: dict[str, float]
    n_draws: int
    threshold: float
    pair_threshold: float


def build_case(name: str, n_draws: int, reps: int = 2000, seed: int = 20261123) -> Case:
    """Enumerate an instance of INSTANCES and calibrate both statistics under a perfect sampler."""
    doc = INSTANCES[name]()
    legal = enumerate_legal_seated(doc)
    rng = np.random.default_rng(seed)
    return Case(name, doc, legal, inclusion_ideal(legal.committees), pair_ideal(legal.committees), n_draws,
                calibrate(legal.committees, n_draws, reps, rng),
                calibrate(legal.committees, n_draws, reps, rng, statistic="pairs"))


@dataclass(frozen=True)
class Report:
    """How one sampler's batch of draws compares with the uniform distribution over legal committees."""

    case: str
    sampler: str
    n_draws: int
    n_drawn: int
    n_illegal: int
    statistic: float
    threshold: float
    pair_statistic: float
    pair_threshold: float
    max_deviation: float
    draws_per_s: float

    @property
    def passed(self) -> bool:
        """Every draw legal and both statistics within their calibrated 99.5% quantiles."""
        return (self.n_drawn == self.n_draws and self.n_illegal == 0 and self.statistic <= self.threshold
                and self.pair_statistic <= self.pair_threshold)


def evaluate(case: Case, sampler: str, results: Sequence[dict[str, Any]], seconds: float) -> Report:
    """Compare the committees of a batch of draw results with the case's ideal."""
    legal = set(case.legal.committees)
    drawn = [c for r in results if (c := committee_of(r["projects"][0], case.legal.multi_need)) is not None]
    inc = Counter(k for c in drawn for k in c)
    pairs = Counter(pr for c in drawn for pr in pairs_of(c))
    n = len(drawn)
    keys = set(case.ideal) | set(inc)
    dev = max((abs(inc.get(k, 0) / max(n, 1) - case.ideal.get(k, 0.0)) for k in keys), default=0.0)
    return Report(case.name, sampler, len(results), n, sum(c not in legal for c in drawn),
                  chi_square(inc, case.ideal, n), case.threshold, chi_square(pairs, case.pair_ideal, n),
                  case.pair_threshold, dev, len(results) / seconds if seconds > 0 else math.inf)


def run_draws(draw: DrawFn, doc: dict[str, Any], n: int,
              prefix: str = "fair") -> tuple[list[dict[str, Any]], float]:
    """Run `n` seeded draws of `doc`; return the results and the seconds they took."""
    t0 = time.perf_counter()
    results = [draw(doc, seed_for(i, prefix)) for i in range(n)]
    return results, time.perf_counter() - t0
