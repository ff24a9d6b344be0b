"""Checker tests, one rule at a time: each mutation of the tiny day breaks exactly the rules it names."""

from __future__ import annotations

import pytest

from tests.checker import Violation, check
from tests.checker_mutations import (
    Mutation,
    alternates,
    append,
    booking,
    both,
    day_at,
    expert_set,
    past,
    project_set,
    relation,
    result_set,
    room_booking,
    rule_ids,
    rules,
    seat_set,
)
from tests.factories_instance import by_id, history, tiny_day

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
