"""The four tiny instances of the D1 fairness measurement (tests/fairness.py), as draw-instance/1 dicts."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

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
