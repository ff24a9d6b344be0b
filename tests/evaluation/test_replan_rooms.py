"""Closure re-planning that moves a kept group to another room of its own site (S1, S4; both databases)."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session

import ledger
from evaluation import service
from evaluation.commitments import draw_result
from evaluation.models import Draw
from evaluation.replan import replan_closure
from tests.evaluation.test_replan import AFTER, BEFORE, DAY, NOT_MAIN, _check_applied, _drawn, _joint_day, _legal, _plan
from tests.evaluation.test_replan import _seats as stored_seats
from tests.factories_instance import site, tiny_day


def _rooms(seats: list[dict[str, Any]], site_code: str) -> set[str]:
    return {s["room"] for s in seats if s["site"] == site_code}


def test_full_kept_room_moves_its_group_to_the_smallest_room_that_fits() -> None:
    # MAIN's room is booked up and AUXB-R1 (3 seats) holds 2 kept experts: the 2 displaced experts fit
    # only when AUXB's group moves whole to AUXB-R3 (6 seats, the smallest of AUXB's rooms taking 4).
    inst, result = _joint_day({})
    inst["sites"][2] = site("AUXB", 36.25, 117.12, seats=(3, 9, 6))
    p = inst["projects"][0]
    inst["room_bookings"] = [{"room": "MAIN-R1", "seats": 6, "start": p["start"], "end": p["end"]}]
    plan = _plan(inst, result, "AUXA")
    assert plan is not None and plan.blocked is None, plan and plan.blocked
    assert plan.replaced == [] and plan.moved == 2 and plan.aux_sites == ["AUXB"]
    assert plan.rooms_changed == [{"site": "AUXB", "from_room": "AUXB-R1", "to_room": "AUXB-R3", "seats": 2}]
    assert _rooms(plan.seats, "AUXB") == {"AUXB-R3"} and len([s for s in plan.seats if s["site"] == "AUXB"]) == 4
    before = result["projects"][0]["seats"]
    # Every kept expert keeps their site; only the AUXB group's room changed.
    assert {s["expert"]: s["site"] for s in plan.seats if s["expert"] in ("E02", "E05", "E08")} == {
        s["expert"]: s["site"] for s in before if s["expert"] in ("E02", "E05", "E08")}
    assert plan.seats[0] == before[0] and plan.representatives_room is None
    assert _check_applied(inst, result, plan, ["AUXA-R1"]) == []


def test_no_room_change_when_the_kept_rooms_have_seats() -> None:
    # As in the joint re-seating case, E03 → MAIN and E04 → AUXB fit the kept rooms: AUXB-R2 stays unused.
    inst, result = _joint_day({"E04": NOT_MAIN})
    inst["sites"][2] = site("AUXB", 36.25, 117.12, seats=(3, 9))
    plan = _plan(inst, result, "AUXA")
    assert plan is not None and plan.blocked is None and plan.replaced == []
    assert plan.rooms_changed == [] and _rooms(plan.seats, "AUXB") == {"AUXB-R1"}
    assert _rooms(plan.seats, "MAIN") == {"MAIN-R1"} and plan.representatives_room is None
    assert _check_applied(inst, result, plan, ["AUXA-R1"]) == []


def test_a_room_change_is_preferred_to_a_replacement() -> None:
    # E03 and E04 can reach AUXB but not MAIN, and AUXB-R1 has one free seat: without the room change
    # one of them would be replaced by an expert seated at MAIN (R1).
    inst, result = _joint_day({"E03": NOT_MAIN, "E04": NOT_MAIN})
    inst["sites"][2] = site("AUXB", 36.25, 117.12, seats=(3, 9))
    plan = _plan(inst, result, "AUXA")
    assert plan is not None and plan.blocked is None
    assert plan.replaced == [] and plan.moved == 2
    assert plan.rooms_changed == [{"site": "AUXB", "from_room": "AUXB-R1", "to_room": "AUXB-R2", "seats": 2}]
    assert {s["expert"] for s in plan.seats if s["room"] == "AUXB-R2"} == {"E03", "E04", "E05", "E08"}
    assert _check_applied(inst, result, plan, ["AUXA-R1"]) == []


def test_fewest_kept_experts_move_and_the_representatives_follow() -> None:
    # MAIN-R1 (3 seats) holds 1 expert and 2 representatives; AUXB-R1 (3 seats) holds 2 experts. Moving
    # MAIN's group (1 kept expert) beats moving AUXB's (2); the representatives go with it (S2).
    inst, result = _joint_day({})
    inst["sites"][0] = site("MAIN", 36.65, 117.12, seats=(3, 9))
    inst["sites"][2] = site("AUXB", 36.25, 117.12, seats=(3, 9))
    plan = _plan(inst, result, "AUXA")
    assert plan is not None and plan.blocked is None and plan.replaced == []
    assert plan.rooms_changed == [{"site": "MAIN", "from_room": "MAIN-R1", "to_room": "MAIN-R2", "seats": 1}]
    assert _rooms(plan.seats, "MAIN") == {"MAIN-R2"} and plan.representatives_room == "MAIN-R2"
    assert _rooms(plan.seats, "AUXB") == {"AUXB-R1"}
    assert _check_applied(inst, result, plan, ["AUXA-R1"]) == []


def test_moved_seats_are_resealed_with_their_new_room(session: Session) -> None:
    # AUXB-R1 has one seat. Once AUXA closes, MAIN takes one of its 2 experts (S2 share: 2 of 4) and
    # AUXB must take the other, so AUXB's group moves to AUXB-R2.
    inst, _ = tiny_day()
    inst["sites"][2] = site("AUXB", 36.25, 117.12, seats=(1, 6))
    row = _drawn(session, inst)
    assert row.id is not None
    before = draw_result(row)["projects"][0]
    counts = {c: sum(s["site"] == c for s in before["seats"]) for c in ("MAIN", "AUXA", "AUXB")}
    assert counts == {"MAIN": 1, "AUXA": 2, "AUXB": 1} and _rooms(before["seats"], "AUXB") == {"AUXB-R1"}
    report = replan_closure(session, site_code="AUXA", room_code=None, start=DAY[0], end=DAY[1], now=BEFORE)
    session.commit()
    entry = report["replanned"][0]
    assert entry["replaced"] == 0 and report["blocked"] == []
    assert entry["rooms_changed"] == [{"site": "AUXB", "from_room": "AUXB-R1", "to_room": "AUXB-R2", "seats": 1}]
    after = service.reveal(session, draw_id=row.id, now=AFTER)["projects"][0]
    assert _rooms(after["seats"], "AUXB") == {"AUXB-R2"} and _rooms(after["seats"], "MAIN") == _rooms(
        before["seats"], "MAIN")
    # Each stored seat unseals under its (new) room's AAD and matches the revealed result.
    stored = {(e, n, r) for e, n, _, r in stored_seats(session, row)}
    assert stored == {(s["expert"], s["need"], s["room"]) for s in after["seats"]}
    assert _legal(session, {**draw_result(session.get(Draw, row.id)), "projects": [after]}) == []  # type: ignore[arg-type]
    payload = json.loads([e.payload for e in ledger.entries(session) if e.kind == "draw.replan"][-1])
    assert payload["rooms_changed"] == entry["rooms_changed"]
    assert not {s["expert"] for s in after["seats"]} & set(str(payload).replace("'", " ").split())
