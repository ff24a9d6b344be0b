"""The draw on tiny hand-built instances, checked by the independent checker."""

from __future__ import annotations

import hashlib

import pytest

from scheduler.draw import derived_seed, draw_instance, seed_commitment
from scheduler.exceptions import InstanceError
from scheduler.solver.project import DrawConfig
from tests.checker import check
from tests.factories_instance import by_id, clone, second_project, tiny_day

SEEDS = [hashlib.sha256(f"t{i}".encode()).hexdigest() for i in range(12)]


def _instance() -> dict:
    return tiny_day()[0]


@pytest.mark.parametrize("seed", SEEDS)
def test_tiny_draw_is_legal(seed: str) -> None:
    inst = _instance()
    result = draw_instance(inst, seed)
    proj = result["projects"][0]
    assert proj["status"] == "drawn" and proj["sampling"] == "exact"
    assert check(inst, result) == []


def test_draw_is_a_pure_function_of_instance_and_seed() -> None:
    inst = _instance()
    a = draw_instance(inst, SEEDS[0])
    assert draw_instance(clone(inst), SEEDS[0]) == a
    committees = {tuple(s["expert"] for s in draw_instance(inst, s)["projects"][0]["seats"]) for s in SEEDS}
    assert len(committees) > 3, "different seeds should give different committees"
    assert a["seed_sha256"] == seed_commitment(SEEDS[0])


def test_repeat_seed_derivation_is_documented_formula() -> None:
    expected = hashlib.sha256(bytes.fromhex("abcd") + b":3").hexdigest()
    assert derived_seed("abcd", 3) == expected


def test_bad_seed_is_rejected() -> None:
    with pytest.raises(InstanceError, match="seed"):
        draw_instance(_instance(), "xyz")


def test_random_aux_sites_are_chosen_among_active_sites() -> None:
    inst = _instance()
    inst["projects"][0]["aux_sites"] = None
    chosen = set()
    for seed in SEEDS:
        result = draw_instance(inst, seed)
        assert check(inst, result) == []
        aux = result["projects"][0]["aux_sites"]
        assert len(aux) == 2 and "OFF" not in aux and "MAIN" not in aux
        chosen.add(tuple(sorted(aux)))
    assert len(chosen) >= 2


def test_day_plan_projects_compete_for_experts_and_rooms() -> None:
    inst = _instance()
    second_project(inst, start="2026-11-23T09:30:00+08:00", end="2026-11-23T11:00:00+08:00")
    # Both projects want the main site's big room (9 seats) at overlapping times.
    inst["projects"][1]["needs"] = [{"specialty": "A08", "count": 2}]
    for seed in SEEDS[:6]:
        result = draw_instance(inst, seed)
        assert check(inst, result) == []
        drawn = [p for p in result["projects"] if p["status"] == "drawn"]
        experts = [s["expert"] for p in drawn for s in p["seats"]]
        assert len(experts) == len(set(experts))


def test_shortage_is_explained_with_rule_and_advice() -> None:
    inst = _instance()
    inst["rules"] = {"max_travel_km": 5}
    proj = draw_instance(inst, SEEDS[0])["projects"][0]
    assert proj["status"] == "infeasible" and proj["seats"] == []
    unmet = {u["need"]: u for u in proj["unmet"]}
    assert "S3" in unmet["A08"]["rules"] and "max_travel_km" in unmet["A08"]["advice"]
    assert unmet["A08"]["eligible"] == 0 and unmet["A08"]["missing"] == 3


def test_specialty_shortage_names_c3() -> None:
    inst = _instance()
    inst["projects"][0]["needs"] = [{"specialty": "C05", "count": 3}, {"specialty": "A06", "count": 1}]
    proj = draw_instance(inst, SEEDS[0])["projects"][0]
    assert by_id([{"id": u["need"], **u} for u in proj["unmet"]], "C05")["rules"] == ["C3"]


def test_coupled_infeasibility_names_the_coupling_rule() -> None:
    inst = _instance()
    # Everyone with an A08 specialty works for one employer: P1 allows only one of them.
    for e in inst["experts"]:
        if any(c.startswith("A08") for c in e["specialties"]):
            e["employer"] = "EMP01"
    proj = draw_instance(inst, SEEDS[0])["projects"][0]
    assert proj["status"] == "infeasible"
    assert any("P1" in u["rules"] for u in proj["unmet"])


def test_committee_definition_rules() -> None:
    inst = _instance()
    inst["projects"][0]["size"] = 4
    inst["projects"][0]["representatives"] = 0
    inst["projects"][0]["needs"] = [{"specialty": "A08", "count": 3}, {"specialty": "A06", "count": 1}]
    proj = draw_instance(inst, SEEDS[0])["projects"][0]
    assert proj["status"] == "infeasible" and proj["unmet"][0]["rules"] == ["C1"]


def test_room_too_small_is_s4() -> None:
    inst = _instance()
    for s in inst["sites"]:
        if s["id"] == "AUXA":
            s["rooms"] = [{"id": "AUXA-R1", "seats": 0}]
    proj = draw_instance(inst, SEEDS[0])["projects"][0]
    assert proj["status"] == "infeasible"
    assert any("S4" in u["rules"] for u in proj["unmet"])


def test_fallback_is_marked_approximate_and_still_legal() -> None:
    inst = _instance()
    # Five of the seven A08 holders share an employer: few proposals are legal (P1).
    for e in inst["experts"][:5]:
        e["employer"] = "EMP01"
    cfg = DrawConfig(batch=1, max_proposals=1)
    samplings = []
    for seed in SEEDS:
        result = draw_instance(inst, seed, cfg=cfg)
        assert check(inst, result) == []
        proj = result["projects"][0]
        samplings.append(proj["sampling"])
        if proj["sampling"] == "approximate":
            assert any(w.startswith("D1") for w in proj["warnings"])
    assert "approximate" in samplings


def test_report_counts_what_each_rule_removed() -> None:
    inst = _instance()
    inst["experts"][2]["status"] = "suspended"  # E03, an A08 holder
    inst["experts"][3]["birth_date"] = "1950-01-01"  # E04, too old
    proj = draw_instance(inst, SEEDS[0])["projects"][0]
    rep = {r["need"]: r for r in proj["report"]}["A08"]
    assert rep["removed"].get("E1") == 1 and rep["removed"].get("E2") == 1
    assert rep["eligible"] == rep["holders"] - 2 - rep["removed"].get("E3", 0) - rep["removed"].get("E4", 0)
    assert 0 < rep["max_inclusion"] <= 1


def test_predictability_warning() -> None:
    inst = _instance()
    inst["rules"] = {"max_predictability": 0.2}
    proj = draw_instance(inst, SEEDS[0])["projects"][0]
    assert any(w.startswith("predictability") for w in proj["warnings"])


def test_partial_min_size_override_keeps_other_procedures() -> None:
    inst = _instance()
    inst["rules"] = {"min_size": {"gp_tender": 9}}
    p = inst["projects"][0]  # engineering_tender keeps its minimum of 5
    p["size"], p["representatives"] = 3, 0
    p["needs"] = [{"specialty": "A08", "count": 2}, {"specialty": "A06", "count": 1}]
    proj = draw_instance(inst, SEEDS[0])["projects"][0]
    assert proj["status"] == "infeasible" and proj["unmet"][0]["rules"] == ["C1"]


def test_open_ended_relation_sentinel_and_out_of_range_rules() -> None:
    inst = _instance()
    inst["relations"] = [{"expert": "E01", "org": "BID1", "kind": "director", "from": "2020-01-01",
                          "to": "9999-12-31"}]
    proj = draw_instance(inst, SEEDS[0])["projects"][0]
    assert "E01" not in {s["expert"] for s in proj["seats"]}
    inst["rules"] = {"aux_site_count": 10**6}
    with pytest.raises(InstanceError, match=r"\$\.rules\.aux_site_count"):
        draw_instance(inst, SEEDS[0])


def test_roomless_auxiliary_site_is_usable_when_its_minimum_is_zero() -> None:
    inst = _instance()
    inst["rules"] = {"min_per_aux_site": 0}
    inst["sites"][2]["rooms"] = []  # AUXB
    result = draw_instance(inst, SEEDS[0])
    assert result["projects"][0]["status"] == "drawn" and check(inst, result) == []
    assert all(s["site"] != "AUXB" for s in result["projects"][0]["seats"])


def test_many_named_auxiliary_sites_stay_cheap() -> None:
    inst = _instance()
    base = inst["sites"][1]
    inst["sites"] += [dict(base, id=f"X{i}", rooms=[{"id": f"X{i}-R1", "seats": 6}]) for i in range(20)]
    inst["rules"] = {"min_per_aux_site": 0}
    inst["projects"][0]["aux_sites"] = [f"X{i}" for i in range(20)]
    result = draw_instance(inst, SEEDS[0])
    assert result["projects"][0]["status"] == "drawn" and check(inst, result) == []
    inst["projects"][0]["aux_sites"] = [f"X{i}" for i in range(20)] + ["AUXA"]
    with pytest.raises(InstanceError, match=r"aux_sites"):
        draw_instance(inst, SEEDS[0])


def test_representatives_room_is_named() -> None:
    inst = _instance()
    proj = draw_instance(inst, SEEDS[0])["projects"][0]
    main_rooms = {s["room"] for s in proj["seats"] if s["site"] == "MAIN"}
    assert proj["representatives_room"] in main_rooms
