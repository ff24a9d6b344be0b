"""Checker tests over a whole day: two projects sharing experts and rooms, and a large day's speed."""

from __future__ import annotations

import random

import pytest

from tests.checker import check
from tests.checker_mutations import Doc, booking, day_at, expert_of, past, proj_of, relation, rule_ids
from tests.factories_instance import by_id, expert, seat, second_project, tiny_day

# --- two projects of one day -------------------------------------------------------------------

def _two_projects(start: str = "2026-11-23T10:00:00+08:00", end: str = "2026-11-23T13:00:00+08:00"
                  ) -> tuple[Doc, Doc]:
    inst, res = tiny_day()
    res["projects"].append(second_project(inst, start=start, end=end))
    return inst, res


def _share_e02(inst: Doc, res: Doc) -> None:
    expert_of(inst, "E02")["specialties"].append("B0101")
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
    expert_of(inst, "E04")["specialties"].append("B0101")
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
        project = {**proj_of(tiny_day()[0]), "id": f"Q{k}", "size": 9, "representatives": 1,
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
    found = check(inst, res)
    # Random committees at overlapping times over-fill the rooms: the checker must say so.
    assert "S4" in {v.rule for v in found}
