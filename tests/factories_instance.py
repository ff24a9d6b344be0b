"""Hand-built tiny draw instances and results (draw-instance/1, draw-result/1) for tests.

`tiny_day()` returns a legal one-project day and a legal result of it; tests mutate copies of them.
The layout: sites MAIN, AUXA, AUXB, AUXC (active) and OFF (inactive) lie 30-45 km around the experts'
default home, so every expert can reach every site (S3) unless a test moves a home.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

START = "2026-11-23T09:00:00+08:00"
END = "2026-11-23T12:00:00+08:00"
HOME = (36.45, 117.37)  # about 31 km from each of MAIN, AUXA, AUXB, AUXC
LOCAL_REGION = "370102"  # same prefecture (3701) as the project's region 370114
REMOTE_REGION = "371302"


def site(sid: str, lat: float, lon: float, *, seats: tuple[int, ...] = (6,), active: bool = True,
         region: str = "370100") -> dict[str, Any]:
    """A site with rooms `<sid>-R1`, `<sid>-R2`, … of the given seat counts."""
    rooms = [{"id": f"{sid}-R{i + 1}", "seats": n} for i, n in enumerate(seats)]
    return {"id": sid, "name": sid, "region": region, "lat": lat, "lon": lon, "active": active,
            "rooms": rooms}


def expert(eid: str, specialties: list[str], *, employer: str | None, region: str = REMOTE_REGION,
           home: tuple[float, float] = HOME, birth_date: str = "1970-05-01", status: str = "active",
           leave: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """An expert living at `home`."""
    return {"id": eid, "name": eid, "birth_date": birth_date, "region": region, "lat": home[0],
            "lon": home[1], "employer": employer, "specialties": specialties, "status": status,
            "leave": leave or []}


def seat(eid: str, need: str, site_id: str, room: str) -> dict[str, str]:
    """One seat of a result project."""
    return {"expert": eid, "need": need, "site": site_id, "room": room}


def history(project: str, start: str, end: str, experts: list[str], tenderer: str = "OTHER"
            ) -> dict[str, Any]:
    """One past committee."""
    return {"project": project, "tenderer": tenderer, "start": start, "end": end, "experts": experts}


def canonical_sha256(doc: Any) -> str:
    """SHA-256 of the canonical JSON of `doc` (keys sorted, compact, UTF-8)."""
    data = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def _instance() -> dict[str, Any]:
    employers = [f"EMP{i:02d}" for i in range(1, 16)]
    orgs = ["TEND", "AGENT", "BID1", "BID2", "SUP", "OTHER", *employers]
    specialties = {
        "E01": ["A0801"], "E02": ["A0801", "A0601"], "E03": ["A080101"], "E04": ["A0801"],
        "E05": ["A0802"], "E06": ["A0802"], "E07": ["A0803"], "E08": ["A0601"], "E09": ["A0601"],
        "E10": ["A060102"], "E11": ["A0602"], "E12": ["B0101"], "E13": ["B0101"], "E14": ["B0102"],
        "E15": ["B0101"],
    }
    experts = [
        expert(eid, codes, employer=f"EMP{eid[1:]}", region=LOCAL_REGION if eid == "E01" else REMOTE_REGION)
        for eid, codes in specialties.items()
    ]
    return {
        "format": "draw-instance/1",
        "rules": {},
        "sites": [
            site("MAIN", 36.65, 117.12, seats=(9, 3)),
            site("AUXA", 36.65, 117.62),
            site("AUXB", 36.25, 117.12),
            site("AUXC", 36.25, 117.62),
            site("OFF", 36.45, 117.40, active=False),
        ],
        "orgs": [{"id": o, "name": o} for o in orgs],
        "experts": experts,
        "relations": [],
        "penalties": [],
        # E01 and E02 sat together once recently: one more and P2 forbids the pair.
        "history": [history("H-0", "2026-09-24T09:00:00+08:00", "2026-09-24T12:00:00+08:00", ["E01", "E02"])],
        "bookings": [],
        "room_bookings": [],
        "projects": [
            {"id": "P1", "name": "tiny road works", "procedure": "engineering_tender", "budget": 35_000_000,
             "region": "370114", "tenderer": "TEND", "agent": "AGENT", "bidders": ["BID1", "BID2"],
             "supervisor_orgs": ["SUP"], "start": START, "end": END, "size": 5, "representatives": 1,
             "main_site": "MAIN", "aux_sites": ["AUXA", "AUXB"],
             "needs": [{"specialty": "A08", "count": 3}, {"specialty": "A06", "count": 1}],
             "excluded_experts": []},
        ],
    }


def result_project(pid: str, seats: list[dict[str, str]], alternates: dict[str, list[str]],
                   aux_sites: list[str] | None) -> dict[str, Any]:
    """A drawn result project."""
    return {"project": pid, "status": "drawn", "sampling": "exact", "aux_sites": aux_sites, "seats": seats,
            "alternates": [{"need": k, "experts": v} for k, v in alternates.items()],
            "warnings": [], "unmet": []}


def result_for(instance: dict[str, Any], projects: list[dict[str, Any]]) -> dict[str, Any]:
    """A draw-result/1 document naming `instance`."""
    return {"format": "draw-result/1", "instance_sha256": canonical_sha256(instance),
            "seed_sha256": "0" * 64, "seed": "00", "software": "hand-made", "projects": projects}


def _result(instance: dict[str, Any]) -> dict[str, Any]:
    seats = [
        seat("E01", "A08", "MAIN", "MAIN-R1"),
        seat("E02", "A08", "MAIN", "MAIN-R1"),
        seat("E03", "A08", "AUXA", "AUXA-R1"),
        seat("E08", "A06", "AUXB", "AUXB-R1"),
    ]
    alternates = {"A08": ["E04", "E05"], "A06": ["E09", "E10"]}
    return result_for(instance, [result_project("P1", seats, alternates, ["AUXA", "AUXB"])])


def tiny_day() -> tuple[dict[str, Any], dict[str, Any]]:
    """A fresh legal (instance, result) pair: project P1, size 5 with 1 representative, 4 seats at 3 sites."""
    instance = _instance()
    return instance, _result(instance)


def second_project(instance: dict[str, Any], *, start: str = "2026-11-23T10:00:00+08:00",
                   end: str = "2026-11-23T13:00:00+08:00") -> dict[str, Any]:
    """Add project P2 (gp_negotiation, size 3, main site MAIN only) to `instance`; return its legal result."""
    instance["projects"].append(
        {"id": "P2", "name": "tiny purchase", "procedure": "gp_negotiation", "budget": 500_000,
         "region": "110101", "tenderer": "OTHER", "agent": None, "bidders": [], "supervisor_orgs": [],
         "start": start, "end": end, "size": 3, "representatives": 1, "main_site": "MAIN", "aux_sites": [],
         "needs": [{"specialty": "B01", "count": 2}], "excluded_experts": []}
    )
    seats = [seat("E12", "B01", "MAIN", "MAIN-R1"), seat("E13", "B01", "MAIN", "MAIN-R1")]
    return result_project("P2", seats, {"B01": ["E14", "E15"]}, [])


def by_id(items: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The object with `id` (or `project`, or `expert` for seats) equal to `key` in a list."""
    for item in items:
        if key in (item.get("id"), item.get("project"), item.get("expert")):
            return item
    raise KeyError(key)


def clone(doc: dict[str, Any]) -> dict[str, Any]:
    """Deep copy, so a mutation never leaks between tests."""
    return copy.deepcopy(doc)
