"""Tests of the independent draw-result checker: a legal tiny day passes, each broken rule is named."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from tests.checker import (
    Violation,
    add_years,
    age_on,
    check,
    effective_params,
    haversine_km,
    peak_load,
    seating_exists,
)
from tests.factories_instance import by_id, expert, history, seat, second_project, tiny_day

Doc = dict[str, Any]
Mutation = Callable[[Doc, Doc], None]


def _proj(inst: Doc) -> Doc:
    return inst["projects"][0]


def _res(res: Doc) -> Doc:
    return res["projects"][0]


def _exp(inst: Doc, eid: str) -> Doc:
    return by_id(inst["experts"], eid)


def _seat(res: Doc, eid: str) -> Doc:
    return by_id(_res(res)["seats"], eid)


def _set(getter: Callable[[Doc, Doc], Doc], **values: Any) -> Mutation:
    def mutate(inst: Doc, res: Doc) -> None:
        getter(inst, res).update(values)
    return mutate


def expert_set(eid: str, **values: Any) -> Mutation:
    return _set(lambda i, r: _exp(i, eid), **values)


def project_set(**values: Any) -> Mutation:
    return _set(lambda i, r: _proj(i), **values)


def seat_set(eid: str, **values: Any) -> Mutation:
    return _set(lambda i, r: _seat(r, eid), **values)


def result_set(**values: Any) -> Mutation:
    return _set(lambda i, r: _res(r), **values)


def rules(**values: Any) -> Mutation:
    return _set(lambda i, r: i["rules"], **values)


def append(key: str, *items: Doc) -> Mutation:
    def mutate(inst: Doc, res: Doc) -> None:
        inst[key].extend(items)
    return mutate


def alternates(**lists: list[str]) -> Mutation:
    def mutate(inst: Doc, res: Doc) -> None:
        _res(res)["alternates"] = [{"need": k, "experts": v} for k, v in lists.items()]
    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(inst: Doc, res: Doc) -> None:
        for m in mutations:
            m(inst, res)
    return mutate


P1_START = datetime.fromisoformat("2026-11-23T09:00:00+08:00")


def day_at(offset_days: float, hour: int = 9, minutes: int = 0) -> str:
    """An instant `offset_days` before P1's start (2026-11-23 09:00 +08:00), shifted to hour:minutes."""
    base = datetime.fromisoformat("2026-11-23T00:00:00+08:00") - timedelta(days=offset_days)
    return (base + timedelta(hours=hour, minutes=minutes)).isoformat()


def past(eids: list[str], offset_days: float, tenderer: str = "OTHER", minutes: int = 0) -> Doc:
    """A 3-hour past committee starting `offset_days` before P1's start (plus `minutes`)."""
    start = P1_START - timedelta(days=offset_days) + timedelta(minutes=minutes)
    return history(f"H-{offset_days}-{minutes}", start.isoformat(), (start + timedelta(hours=3)).isoformat(),
                   eids, tenderer)


def booking(eid: str, start: str, end: str) -> Doc:
    return {"expert": eid, "start": f"2026-11-23T{start}:00+08:00", "end": f"2026-11-23T{end}:00+08:00"}


def room_booking(room: str, seats: int, start: str, end: str) -> Doc:
    return {"room": room, "seats": seats, "start": f"2026-11-23T{start}:00+08:00",
            "end": f"2026-11-23T{end}:00+08:00"}


def relation(eid: str, org: str, to: str | None, kind: str = "former_employment") -> Doc:
    return {"expert": eid, "org": org, "kind": kind, "from": "2010-01-01", "to": to}


def rule_ids(violations: list[Violation]) -> set[str]:
    return {v.rule for v in violations}


BROKEN: dict[str, tuple[Mutation, set[str]]] = {
    # C1-C4
    "C1 even size": (project_set(size=6, representatives=2), {"C1"}),
    "C1 large gp_tender needs 7": (project_set(procedure="gp_tender", budget=10_000_000), {"C1"}),
    "C1 instance min_size override": (rules(min_size={"engineering_tender": 7}), {"C1"}),
    "C2 too many representatives": (project_set(size=7, representatives=3), {"C2"}),
    "C3 specialty does not match need": (expert_set("E03", specialties=["B0101"]), {"C3"}),
    "C3 need counts not met": (seat_set("E02", need="A06"), {"C3"}),
    "C4 expert twice": (seat_set("E03", expert="E02"), {"C4"}),
    # E1-E9 on a seated expert
    "E1 suspended": (expert_set("E02", status="suspended"), {"E1"}),
    "E1 penalty record": (append("penalties", {"expert": "E02", "date": "2019-03-01"}), {"E1"}),
    "E2 aged 66": (expert_set("E02", birth_date="1960-11-23"), {"E2"}),
    "E3 works for a bidder": (expert_set("E02", employer="BID1"), {"E3"}),
    "E3 works for the tenderer": (expert_set("E02", employer="TEND"), {"E3"}),
    "E3 works for the agent": (expert_set("E02", employer="AGENT"), {"E3"}),
    "E4 relation ended 3 years ago today": (
        append("relations", relation("E02", "BID2", "2023-11-23")), {"E4"}),
    "E4 open-ended relation": (append("relations", relation("E02", "TEND", None, "shareholder")), {"E4"}),
    "E4 avoid list": (append("relations", relation("E02", "AGENT", None, "avoid")), {"E4"}),
    "E5 works for the supervisor": (expert_set("E02", employer="SUP"), {"E5"}),
    "E6 four committees in 30 days": (
        append("history", *(past(["E02"], d) for d in (30, 20, 10, 5))), {"E6"}),
    "E7 two committees of the tenderer in 365 days": (
        append("history", past(["E02"], 365, "TEND"), past(["E02"], 100, "TEND")), {"E7"}),
    "E8 on leave": (expert_set("E02", leave=[{"from": "2026-11-23", "to": "2026-11-30"}]), {"E8"}),
    "E8 booking inside the buffer": (append("bookings", booking("E02", "07:00", "08:30")), {"E8"}),
    "E8 booking just after": (append("bookings", booking("E02", "12:59", "15:00")), {"E8"}),
    "E8 past committee overlapping": (
        append("history", history("H-x", day_at(0, 11), day_at(0, 14), ["E02"])), {"E8"}),
    "E9 excluded": (project_set(excluded_experts=["E02"]), {"E9"}),
    # P1, P2
    "P1 two of one employer": (expert_set("E03", employer="EMP01"), {"P1"}),
    "P2 familiar pair": (append("history", past(["E01", "E02", "E13"], 100)), {"P2"}),
    # S1-S6
    "S1 room of another site": (seat_set("E03", room="MAIN-R2"), {"S1"}),
    "S1 site not of the project": (seat_set("E08", site="AUXC", room="AUXC-R1"), {"S1", "S2"}),
    "S1 one site split over rooms": (seat_set("E02", room="MAIN-R2"), {"S1"}),
    "S1 aux sites differ from the instance": (result_set(aux_sites=["AUXA", "AUXC"]), {"S1", "S2"}),
    "S2 main too full, aux empty": (seat_set("E03", site="MAIN", room="MAIN-R1"), {"S2"}),
    "S2 min_main": (rules(min_main=3, max_main_share="1", min_per_aux_site=0), {"S2"}),
    "S3 home too far": (expert_set("E08", lat=37.2, lon=117.12), {"S3"}),
    "S4 room overbooked": (append("room_bookings", room_booking("MAIN-R1", 7, "08:00", "10:00")), {"S4"}),
    "S4 aux room full leaves no seating": (
        append("room_bookings", room_booking("AUXB-R1", 6, "11:00", "14:00")), {"S4", "D2"}),
    "S5 wrong number of chosen aux sites": (
        both(project_set(aux_sites=None), rules(aux_site_count=3)), {"S5"}),
    "S5 chosen aux site inactive": (
        both(project_set(aux_sites=None), rules(aux_site_count=3, min_per_aux_site=0),
             result_set(aux_sites=["AUXA", "AUXB", "OFF"])), {"S5"}),
    "S5 main site inactive": (lambda i, r: by_id(i["sites"], "MAIN").update(active=False), {"S5", "D2"}),
    "S6 too many locals": (
        both(expert_set("E02", region="370105"), expert_set("E03", region="370112")), {"S6"}),
    # D2
    "D2 too few alternates": (alternates(A08=["E04", "E05"], A06=["E09"]), {"D2"}),
    "D2 need without alternates": (alternates(A08=["E04", "E05"]), {"D2"}),
    "D2 alternate already seated": (alternates(A08=["E04", "E02"], A06=["E09", "E10"]), {"D2"}),
    "D2 alternate repeated": (alternates(A08=["E04", "E04"], A06=["E09", "E10"]), {"D2"}),
    "D2 alternate unknown": (alternates(A08=["E04", "E99"], A06=["E09", "E10"]), {"D2"}),
    "D2 alternates for an unknown need": (
        alternates(A08=["E04", "E05"], A06=["E09", "E10"], B01=["E12", "E13"]), {"D2"}),
    "D2 alternate reaches no site": (expert_set("E04", lat=40.0, lon=117.12), {"D2"}),
    "D2 alternate shares an employer": (expert_set("E04", employer="EMP02"), {"D2"}),
    "D2 alternate familiar with a member": (
        append("history", past(["E01", "E04"], 50), past(["E01", "E04"], 40)), {"D2"}),
    "D2 alternate breaks S6": (
        both(expert_set("E02", region="370105"), expert_set("E04", region="370105")), {"D2"}),
    "alternate ineligible (E3)": (expert_set("E09", employer="BID2"), {"E3"}),
    "alternate ineligible (E9)": (project_set(excluded_experts=["E05"]), {"E9"}),
    "alternate wrong specialty (C3)": (expert_set("E05", specialties=["A0601"]), {"C3"}),
    # shape and infeasible projects
    "FORMAT wrong format": (lambda i, r: r.update(format="draw-result/2"), {"FORMAT"}),
    "FORMAT project missing": (lambda i, r: r.update(projects=[]), {"FORMAT"}),
    "FORMAT project twice": (lambda i, r: r["projects"].append(dict(r["projects"][0])), {"FORMAT"}),
    "FORMAT unknown project": (
        lambda i, r: r["projects"].append({**r["projects"][0], "project": "P9"}), {"FORMAT"}),
    "FORMAT unknown expert": (seat_set("E03", expert="E99"), {"FORMAT"}),
    "FORMAT unknown room": (seat_set("E03", room="AUXA-R9"), {"FORMAT"}),
    "FORMAT seat need not a need": (seat_set("E03", need="A0801"), {"FORMAT", "C3"}),
    "FORMAT unknown status": (result_set(status="maybe"), {"FORMAT"}),
    "D4 infeasible with seats": (
        result_set(status="infeasible", unmet=[{"need": "A06", "missing": 1}]), {"D4"}),
    "D4 infeasible without unmet": (result_set(status="infeasible", seats=[], unmet=[]), {"D4"}),
}

LEGAL: dict[str, Mutation] = {
    "untouched": lambda i, r: None,
    "gp_tender just under the large budget": project_set(procedure="gp_tender", budget=9_999_999),
    "gp_negotiation above threshold with 5": project_set(procedure="gp_negotiation", budget=5_000_000),
    "E2 aged exactly 65": expert_set("E02", birth_date="1961-11-23"),
    "E2 turns 66 tomorrow": expert_set("E02", birth_date="1960-11-24"),
    "E4 relation ended 3 years and a day ago": append("relations", relation("E02", "BID2", "2023-11-22")),
    "E4 relation with an unrelated org": append("relations", relation("E02", "OTHER", None)),
    "E6 fourth committee just outside 30 days": append(
        "history", past(["E02"], 30, minutes=-1), past(["E02"], 20), past(["E02"], 10), past(["E02"], 5)),
    "E7 second committee of the tenderer 366 days ago": append(
        "history", past(["E02"], 366, "TEND"), past(["E02"], 100, "TEND")),
    "E8 leave ends the day before": expert_set("E02", leave=[{"from": "2026-11-01", "to": "2026-11-22"}]),
    "E8 booking ends at the buffer": append("bookings", booking("E02", "06:00", "08:00")),
    "E8 booking starts after the buffer": append("bookings", booking("E02", "13:00", "15:00")),
    "P2 second meeting outside 180 days": append("history", past(["E01", "E02"], 181)),
    "S2 main only, no upper bound": both(
        project_set(aux_sites=[]), result_set(aux_sites=[]),
        seat_set("E03", site="MAIN", room="MAIN-R1"), seat_set("E08", site="MAIN", room="MAIN-R1")),
    "S4 back-to-back bookings fit": append(
        "room_bookings",
        room_booking("MAIN-R1", 6, "07:00", "10:30"), room_booking("MAIN-R1", 6, "10:30", "14:00")),
    "S4 booking touching the end": append("room_bookings", room_booking("MAIN-R1", 9, "12:00", "14:00")),
    "S4 full main room, reseat alternates in MAIN-R2": append(
        "room_bookings", room_booking("MAIN-R1", 6, "08:00", "10:00")),
    "S5 draw chose two aux sites": project_set(aux_sites=None),
    "D2 fewer alternates with a warning": both(
        alternates(A08=["E04", "E05"], A06=["E09"]), result_set(warnings=["D2: only 1 alternate for A06"])),
    "infeasible, empty, with an unmet need": result_set(
        status="infeasible", seats=[], alternates=[],
        unmet=[{"need": "A06", "missing": 1, "eligible": 0, "rules": ["S3"], "advice": "widen"}]),
    "unknown rule keys ignored": rules(no_such_rule=3),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_each_broken_rule_is_reported(name: str) -> None:
    inst, res = tiny_day()
    assert check(inst, res) == []  # the mutation alone breaks the rule
    mutate, expected = BROKEN[name]
    mutate(inst, res)
    found = check(inst, res)
    assert rule_ids(found) == expected, found
    assert all(v.detail for v in found)


@pytest.mark.parametrize("name", sorted(LEGAL))
def test_legal_variants_pass(name: str) -> None:
    inst, res = tiny_day()
    LEGAL[name](inst, res)
    assert check(inst, res) == []


def test_deployment_defaults_apply_under_instance_rules() -> None:
    inst, res = tiny_day()
    assert rule_ids(check(inst, res, defaults={"max_travel_km": 20})) == {"S3", "D2"}
    inst["rules"] = {"max_travel_km": 50}
    assert check(inst, res, defaults={"max_travel_km": 20}) == []
    assert rule_ids(check(inst, res, defaults={"min_size": {"engineering_tender": 7}})) == {"C1"}
    inst["rules"]["min_size"] = {"engineering_tender": 5}
    assert check(inst, res, defaults={"min_size": {"engineering_tender": 7}}) == []


def test_violation_names_project_and_expert() -> None:
    inst, res = tiny_day()
    project_set(excluded_experts=["E02"])(inst, res)
    [v] = check(inst, res)
    assert v == Violation("E9", "P1", v.detail) and "E02" in v.detail


# --- two projects of one day -------------------------------------------------------------------

def _two_projects(start: str = "2026-11-23T10:00:00+08:00", end: str = "2026-11-23T13:00:00+08:00"
                  ) -> tuple[Doc, Doc]:
    inst, res = tiny_day()
    res["projects"].append(second_project(inst, start=start, end=end))
    return inst, res


def _share_e02(inst: Doc, res: Doc) -> None:
    _exp(inst, "E02")["specialties"].append("B0101")
    by_id(res["projects"][1]["seats"], "E13")["expert"] = "E02"


def test_two_projects_legal() -> None:
    inst, res = _two_projects()
    assert check(inst, res) == []


def test_expert_on_two_overlapping_projects() -> None:
    inst, res = _two_projects()
    _share_e02(inst, res)
    found = check(inst, res)
    assert {(v.rule, v.project) for v in found} == {("E8", "P1"), ("E8", "P2")}


@pytest.mark.parametrize(("start", "conflict"), [("12:59", True), ("13:00", False)])
def test_other_project_travel_buffer(start: str, conflict: bool) -> None:
    inst, res = _two_projects(f"2026-11-23T{start}:00+08:00", "2026-11-23T16:00:00+08:00")
    _share_e02(inst, res)
    assert bool(check(inst, res)) is conflict


def test_alternate_seated_on_an_overlapping_project() -> None:
    inst, res = _two_projects()
    _exp(inst, "E04")["specialties"].append("B0101")
    by_id(res["projects"][1]["seats"], "E13")["expert"] = "E04"
    found = check(inst, res)
    assert [(v.rule, v.project) for v in found] == [("E8", "P1")]
    assert "alternate E04" in found[0].detail


def test_shared_room_over_capacity_counts_representatives() -> None:
    inst, res = _two_projects()
    assert check(inst, res) == []
    # MAIN-R1 holds P1's 2 experts + 1 representative and P2's 2 + 1: six people.
    by_id(inst["sites"], "MAIN")["rooms"][0]["seats"] = 6
    assert check(inst, res) == []
    by_id(inst["sites"], "MAIN")["rooms"][0]["seats"] = 5
    assert rule_ids(check(inst, res)) == {"S4"}


# --- building blocks ----------------------------------------------------------------------------

def test_effective_params_layers() -> None:
    inst, _ = tiny_day()
    inst["rules"] = {"max_main_share": 0.5, "min_size": {"gp_tender": 9}, "junk": 1}
    params = effective_params(inst, {"max_main_share": "2/3", "max_age": 68})
    assert params.max_age == 68 and params.max_main_share * 10 == 5
    assert params.min_size == {"engineering_tender": 5, "gp_tender": 9, "gp_negotiation": 3}


def test_dates() -> None:
    assert add_years(date(2024, 2, 29), 3) == date(2027, 2, 28)
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)
    assert age_on(date(1961, 11, 23), date(2026, 11, 23)) == 65
    assert age_on(date(1961, 11, 24), date(2026, 11, 23)) == 64


def test_evaluation_date_is_local_to_the_start_offset() -> None:
    inst, res = tiny_day()
    # 2026-11-23 09:00 +08:00 is 2026-11-23 01:00 UTC; a leave of 22 November must not count.
    _exp(inst, "E02")["leave"] = [{"from": "2026-11-22", "to": "2026-11-22"}]
    assert check(inst, res) == []
    _proj(inst).update(start="2026-11-22T23:00:00+00:00", end="2026-11-23T02:00:00+00:00")
    assert rule_ids(check(inst, res)) == {"E8"}


def test_haversine() -> None:
    assert haversine_km(36.0, 117.0, 37.0, 117.0) == pytest.approx(6371.0088 * 3.141592653589793 / 180)
    assert haversine_km(0.0, 0.0, 0.0, 180.0) == pytest.approx(6371.0088 * 3.141592653589793)


def test_peak_load_is_per_moment() -> None:
    t = datetime.fromisoformat("2026-11-23T08:00:00+08:00")
    h = timedelta(hours=1)
    assert peak_load([(t, t + 2 * h, 3), (t + 2 * h, t + 4 * h, 4), (t + h, t + 3 * h, 2)]) == (6, t + 2 * h)
    assert peak_load([(t, t + h, 5), (t + h, t + 2 * h, 5)]) == (5, t)


def _brute_seating(allowed: list[frozenset[str]], lo: dict[str, int], hi: dict[str, int]) -> bool:
    for choice in itertools.product(*(sorted(a & set(lo)) for a in allowed)):
        counts = {s: choice.count(s) for s in lo}
        if all(lo[s] <= counts[s] <= hi[s] for s in lo):
            return True
    return False


def test_seating_exists_matches_brute_force() -> None:
    rng = random.Random(20261123)
    sites = ["M", "A", "B", "C"]
    outcomes = set()
    for _ in range(1500):
        used = sites[: rng.randint(1, 4)]
        allowed = [frozenset(s for s in used if rng.random() < 0.6) for _ in range(rng.randint(1, 6))]
        lo = {s: rng.randint(0, 2) for s in used}
        hi = {s: rng.randint(-1, 4) for s in used}
        expected = _brute_seating(allowed, lo, hi)
        outcomes.add(expected)
        assert seating_exists(allowed, lo, hi) is expected, (allowed, lo, hi)
    assert outcomes == {True, False}


# --- scale ---------------------------------------------------------------------------------------

def test_checks_a_large_day_quickly() -> None:
    rng = random.Random(7)
    inst, _ = tiny_day()
    codes = [f"{letter}{i:02d}" for letter in "ABC" for i in range(1, 11)]
    orgs = [f"ORG{i:04d}" for i in range(3000)]
    inst["orgs"] += [{"id": o, "name": o} for o in orgs]
    inst["experts"] = [
        expert(f"X{i:05d}", [f"{rng.choice(codes)}{rng.randint(1, 9):02d}"], employer=rng.choice(orgs),
               region=rng.choice(["370102", "371302", "370902"]),
               home=(36.45 + rng.uniform(-0.3, 0.3), 117.37 + rng.uniform(-0.3, 0.3)))
        for i in range(20_000)
    ]
    ids = [e["id"] for e in inst["experts"]]
    pool: dict[str, list[str]] = {}
    for e in inst["experts"]:
        pool.setdefault(e["specialties"][0][:3], []).append(e["id"])
    inst["history"] = [past(rng.sample(ids, 7), rng.randint(1, 400), minutes=i) for i in range(50_000)]
    inst["relations"] = [relation(rng.choice(ids), rng.choice(orgs), None) for _ in range(20_000)]
    inst["bookings"] = [booking(rng.choice(ids), "06:00", "07:00") for _ in range(10_000)]
    inst["projects"], res_projects = [], []
    for k in range(150):
        need = [codes[k % 30], codes[(k + 7) % 30]]
        project = {**_proj(tiny_day()[0]), "id": f"Q{k}", "size": 9, "representatives": 1,
                   "needs": [{"specialty": c, "count": 4} for c in need], "bidders": rng.sample(orgs, 5),
                   "start": day_at(0, 8 + k % 8), "end": day_at(0, 10 + k % 8)}
        inst["projects"].append(project)
        picks = {c: rng.sample(pool[c], 6) for c in need}
        sites = ["MAIN", "MAIN", "AUXA", "AUXB"]
        seats = [seat(x, c, sites[j], f"{sites[j]}-R1") for c in need for j, x in enumerate(picks[c][:4])]
        res_projects.append({"project": f"Q{k}", "status": "drawn", "aux_sites": ["AUXA", "AUXB"],
                             "seats": seats, "warnings": [],
                             "alternates": [{"need": c, "experts": picks[c][4:]} for c in need]})
    res = {"format": "draw-result/1", "projects": res_projects}
    began = time.perf_counter()
    found = check(inst, res)
    assert time.perf_counter() - began < 20
    # Random committees at overlapping times over-fill the rooms: the checker must say so.
    assert "S4" in {v.rule for v in found}


def test_factory_instances_are_valid_documents() -> None:
    from scheduler.instance import parse_instance

    inst, _ = tiny_day()
    second_project(inst)
    assert [p.id for p in parse_instance(inst).projects] == ["P1", "P2"]
