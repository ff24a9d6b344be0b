"""Re-planning after a site or room closure: only the closed site's seats change (both databases)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, select

import ledger
from config.sealing import seat_aad, unseal_text
from evaluation import service
from evaluation.commitments import draw_result
from evaluation.export import export_instance
from evaluation.importer import import_instance
from evaluation.models import Draw, DrawProject, Seat
from evaluation.replan import replan_closure
from scheduler.closure_plan import Plan, plan_project
from scheduler.draw import resolve_rules
from scheduler.encoder import encode
from scheduler.instance import parse_instance
from tests.checker import check, haversine_km
from tests.factories_instance import HOME, result_for, result_project, site, tiny_day
from tests.factories_instance import seat as fseat
from venues.models import Room

BEFORE = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
AFTER = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
DAY = (datetime(2026, 11, 23, 0, 0, tzinfo=UTC), datetime(2026, 11, 23, 6, 0, tzinfo=UTC))


def _drawn(session: Session, inst: dict[str, Any] | None = None) -> Draw:
    import_instance(session, inst or tiny_day()[0])
    session.commit()
    return service.draw(session, project_codes=["P1"], seed_hex="5eed")


def _seats(session: Session, draw: Draw) -> set[tuple[str, str, str, str]]:
    """The stored seats, unsealed: (expert, need, site room code, room code)."""
    rooms = {r.id: r.code for r in session.exec(select(Room)).all()}
    out = set()
    for s in session.exec(select(Seat).where(Seat.draw_id == draw.id)).all():
        room = rooms[s.room_id]
        out.add((unseal_text(s.expert_sealed, aad=seat_aad(draw.id, "P1", s.need, room)), s.need,  # type: ignore[arg-type]
                 room.split("-")[0], room))
    return out


def _legal(session: Session, result: dict[str, Any]) -> list[Any]:
    doc = export_instance(session, project_codes=["P1"], rules=service.deployment_rules().as_json())
    return [v for v in check(doc, result) if v.rule != "D2"]


def test_closing_an_aux_site_replans_only_its_seats(session: Session) -> None:
    row = _drawn(session)
    assert row.id is not None
    before = draw_result(row)["projects"][0]
    at_auxa = [s for s in before["seats"] if s["site"] == "AUXA"]
    assert at_auxa
    report = replan_closure(session, site_code="AUXA", room_code=None, start=DAY[0], end=DAY[1], now=BEFORE)
    session.commit()
    assert [r["project"] for r in report["replanned"]] == ["P1"] and report["blocked"] == []
    assert "E0" not in str(report) and "E1" not in str(report)  # counts only before the start (D5)
    after = service.reveal(session, draw_id=row.id, now=AFTER)["projects"][0]
    assert "AUXA" not in {s["site"] for s in after["seats"]} and after["aux_sites"] == ["AUXB"]
    # Seats elsewhere stay exactly as they were; the same experts keep their seats where possible.
    assert [s for s in before["seats"] if s["site"] != "AUXA"] == [s for s in after["seats"]
                                                                     if s in before["seats"]]
    assert {s["expert"] for s in after["seats"]} == {s["expert"] for s in before["seats"]}
    assert report["replanned"][0]["moved"] == len(at_auxa)
    assert _legal(session, {**draw_result(session.get(Draw, row.id)), "projects": [after]}) == []  # type: ignore[arg-type]
    stored = {(e, n, r) for e, n, _, r in _seats(session, row)}
    assert stored == {(s["expert"], s["need"], s["room"]) for s in after["seats"]}
    dp = session.exec(select(DrawProject).where(DrawProject.draw_id == row.id)).one()
    assert dp.aux_sites == ["AUXB"] and "AUXA" not in dp.seat_counts
    assert [e.kind for e in ledger.entries(session)][-3:-1] == ["draw.replan", "draw.replan_report"]


def test_closing_the_main_site_is_reported_and_changes_nothing(session: Session) -> None:
    row = _drawn(session)
    assert row.id is not None
    seats, result = _seats(session, row), draw_result(row)
    report = replan_closure(session, site_code="MAIN", room_code=None, start=DAY[0], end=DAY[1], now=BEFORE)
    session.commit()
    assert report["replanned"] == [] and report["blocked"][0]["project"] == "P1"
    assert report["blocked"][0]["advice"] and "S1" in report["blocked"][0]["rules"]
    assert _seats(session, row) == seats and draw_result(session.get(Draw, row.id)) == result  # type: ignore[arg-type]


def test_room_closure_moves_the_group_to_another_room_of_the_site(session: Session) -> None:
    inst, _ = tiny_day()
    inst["sites"][1] = site("AUXA", 36.65, 117.62, seats=(6, 4))
    row = _drawn(session, inst)
    before = draw_result(row)["projects"][0]
    (used,) = {s["room"] for s in before["seats"] if s["site"] == "AUXA"}
    other = "AUXA-R1" if used == "AUXA-R2" else "AUXA-R2"
    report = replan_closure(session, site_code="AUXA", room_code=used, start=DAY[0], end=DAY[1], now=BEFORE)
    session.commit()
    assert report["replanned"][0]["moved"] == sum(s["site"] == "AUXA" for s in before["seats"])
    after = draw_result(session.get(Draw, row.id))["projects"][0]  # type: ignore[arg-type]
    assert {s["room"] for s in after["seats"] if s["site"] == "AUXA"} == {other}
    assert [s for s in after["seats"] if s["site"] != "AUXA"] == [s for s in before["seats"] if s["site"] != "AUXA"]
    assert after["aux_sites"] == ["AUXA", "AUXB"]


def test_closure_outside_the_window_or_bad_input(session: Session) -> None:
    row = _drawn(session)
    result = draw_result(row)
    late = (datetime(2026, 11, 24, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC))
    report = replan_closure(session, site_code="AUXA", room_code=None, start=late[0], end=late[1], now=BEFORE)
    assert report["replanned"] == report["blocked"] == [] and draw_result(row) == result
    from evaluation.replan import ReplanInputError

    for kwargs, field in (({"site_code": "NOPE"}, "site_code"), ({"room_code": "MAIN-R1"}, "room_code"),
                          ({"end": DAY[0]}, "end")):
        args: dict[str, Any] = {"site_code": "AUXA", "room_code": None, "start": DAY[0], "end": DAY[1], **kwargs}
        with pytest.raises(ReplanInputError) as err:
            replan_closure(session, now=BEFORE, **args)
        assert err.value.field == field


def test_expert_who_cannot_reach_another_site_is_replaced(session: Session) -> None:
    from evaluation.models import Replacement
    from experts.models import Expert

    row = _drawn(session)
    assert row.id is not None
    before = draw_result(row)["projects"][0]
    far = next(s for s in before["seats"] if s["site"] == "AUXA")
    # ~97 km from AUXA, over 100 km from MAIN and AUXB: this expert can sit nowhere else (S3).
    expert = session.exec(select(Expert).where(Expert.code == far["expert"])).one()
    expert.lat, expert.lon = 36.65, 118.70
    session.add(expert)
    session.commit()
    report = replan_closure(session, site_code="AUXA", room_code=None, start=DAY[0], end=DAY[1], now=BEFORE)
    session.commit()
    assert report["replanned"][0]["replaced"] == 1
    after = service.reveal(session, draw_id=row.id, now=AFTER)["projects"][0]
    assert far["expert"] not in {s["expert"] for s in after["seats"]} and len(after["seats"]) == len(before["seats"])
    assert after["replacements"][0]["reason"] == "site_closed"
    assert session.exec(select(Replacement)).one().reason == "site_closed"
    assert _legal(session, {**draw_result(session.get(Draw, row.id)), "projects": [after]}) == []  # type: ignore[arg-type]


# --- Joint re-seating, fewest replacements, blocking and alternates (pure planner on hand-built days) ---

NEAR_ALL = HOME  # ~31 km from MAIN, AUXA, AUXB
NOT_MAIN = (36.35, 117.47)  # within 40 km of AUXA and AUXB, ~46 km from MAIN
ONLY_AUXA = (36.75, 117.85)  # within 40 km of AUXA alone
ONLY_MAIN = (36.75, 116.90)  # within 40 km of MAIN alone


def _joint_day(homes: dict[str, tuple[float, float]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """P1 of 5 drawn experts (+2 representatives): E02 at MAIN, E03 and E04 at AUXA, E05 and E08 at AUXB (full)."""
    inst, _ = tiny_day()
    inst["rules"] = {"max_travel_km": 40}
    inst["sites"][2] = site("AUXB", 36.25, 117.12, seats=(3,))
    inst["projects"][0].update(size=7, representatives=2,
                               needs=[{"specialty": "A08", "count": 4}, {"specialty": "A06", "count": 1}])
    for e in inst["experts"]:
        e["lat"], e["lon"] = homes.get(e["id"], NEAR_ALL)
    seats = [fseat("E02", "A08", "MAIN", "MAIN-R1"), fseat("E03", "A08", "AUXA", "AUXA-R1"),
             fseat("E04", "A08", "AUXA", "AUXA-R1"), fseat("E05", "A08", "AUXB", "AUXB-R1"),
             fseat("E08", "A06", "AUXB", "AUXB-R1")]
    proj = result_project("P1", seats, {"A08": ["E06", "E07"], "A06": ["E09", "E10"]}, ["AUXA", "AUXB"])
    return inst, result_for(inst, [{**proj, "representatives_room": "MAIN-R1"}])


def _plan(inst: dict[str, Any], result: dict[str, Any], site_code: str, room: str | None = None) -> Plan | None:
    parsed = parse_instance(inst)
    problem, ids = encode(parsed, resolve_rules(parsed))
    p = problem.projects[0]
    return plan_project(problem, ids, result, "P1", site=site_code, room=room, window=(p.start, p.end))


def _check_applied(inst: dict[str, Any], result: dict[str, Any], plan: Plan, closed: list[str]) -> list[Any]:
    """The independent checker's verdict on the planned result: closed rooms fully booked (S4), E9 applied."""
    doc = copy.deepcopy(inst)
    p = doc["projects"][0]
    doc["room_bookings"] += [{"room": r["id"], "seats": r["seats"], "start": p["start"], "end": p["end"]}
                             for s in doc["sites"] for r in s["rooms"] if r["id"] in closed]
    p["excluded_experts"] = [r[0]["expert"] for r in plan.replaced]
    p["aux_sites"] = plan.aux_sites  # as evaluation.replan fixes them in the database (S1)
    new = copy.deepcopy(result)
    q = new["projects"][0]
    q.update(seats=plan.seats, aux_sites=plan.aux_sites, alternates=plan.alternates, warnings=plan.warnings)
    q["representatives_room"] = plan.representatives_room or q["representatives_room"]
    return check(doc, new)


def _reach(inst: dict[str, Any], eid: str) -> set[str]:
    e = next(x for x in inst["experts"] if x["id"] == eid)
    return {s["id"] for s in inst["sites"] if haversine_km(e["lat"], e["lon"], s["lat"], s["lon"]) <= 40}


def test_two_displaced_experts_are_reseated_jointly() -> None:
    # Seating E03 first at the free AUXB seat would leave E04 (who cannot reach MAIN) nowhere to sit;
    # only E03 → MAIN with E04 → AUXB keeps the same experts.
    inst, result = _joint_day({"E04": NOT_MAIN})
    assert {"MAIN", "AUXB"} <= _reach(inst, "E03") and _reach(inst, "E04") & {"MAIN", "AUXB"} == {"AUXB"}
    assert check(inst, result) == []  # a legal draw before the closure
    plan = _plan(inst, result, "AUXA")
    assert plan is not None and plan.blocked is None
    assert plan.replaced == [] and plan.moved == 2 and plan.aux_sites == ["AUXB"]
    before = result["projects"][0]["seats"]
    assert [s for s in before if s["site"] != "AUXA"] == plan.seats[:3]  # the other seats stay as they were
    assert {s["expert"]: s["site"] for s in plan.seats} == {"E02": "MAIN", "E03": "MAIN", "E04": "AUXB",
                                                             "E05": "AUXB", "E08": "AUXB"}
    assert _check_applied(inst, result, plan, ["AUXA-R1"]) == []


def test_only_the_expert_who_cannot_move_is_replaced() -> None:
    # E04 can sit only at AUXA; every other A08 expert can reach AUXB but not MAIN, so E03 must go to
    # MAIN for E04's replacement to find the AUXB seat.
    homes = {"E04": ONLY_AUXA, **{e: NOT_MAIN for e in ("E01", "E06", "E07")}}
    inst, result = _joint_day(homes)
    plan = _plan(inst, result, "AUXA")
    assert plan is not None and plan.blocked is None
    assert [(r[0]["expert"], r[1]["expert"], r[1]["site"], r[2]) for r in plan.replaced] == [
        ("E04", "E06", "AUXB", "alternate")]  # R1: the need's first alternate that is still legal
    assert plan.moved == 1 and {s["expert"]: s["site"] for s in plan.seats}["E03"] == "MAIN"
    alts = {a["need"]: a["experts"] for a in plan.alternates or []}
    assert "E06" not in alts["A08"] and len(alts["A08"]) >= 2 and plan.alternates_short == []
    assert _check_applied(inst, result, plan, ["AUXA-R1"]) == []


def test_several_replacements_are_chosen_together() -> None:
    # E03 (A08) and E08 (A06) can sit only at AUXA; MAIN and AUXB have one free seat each. Every A08
    # candidate can reach MAIN alone, so taking A06's first alternate E09 (MAIN only) would leave A08
    # without a seat: A06 gets its second alternate E10 (AUXB) and A08 its first, E06, at MAIN.
    homes = {"E03": ONLY_AUXA, "E08": ONLY_AUXA, "E09": ONLY_MAIN, "E10": NOT_MAIN, "E11": ONLY_AUXA,
             **{e: ONLY_MAIN for e in ("E01", "E06", "E07")}}
    inst, result = _joint_day(homes)
    p = inst["projects"][0]
    inst["room_bookings"] = [{"room": "MAIN-R1", "seats": 5, "start": p["start"], "end": p["end"]}]
    seats = result["projects"][0]["seats"]
    seats[2]["site"], seats[2]["room"], seats[4]["site"], seats[4]["room"] = "AUXB", "AUXB-R1", "AUXA", "AUXA-R1"
    plan = _plan(inst, result, "AUXA")
    assert plan is not None and plan.blocked is None and plan.moved == 0
    assert sorted((r[0]["expert"], r[1]["expert"], r[1]["site"], r[2]) for r in plan.replaced) == [
        ("E03", "E06", "MAIN", "alternate"), ("E08", "E10", "AUXB", "alternate")]
    assert _check_applied(inst, result, plan, ["AUXA-R1"]) == []


def test_no_legal_plan_is_reported_with_the_binding_rule() -> None:
    # Nobody else of need A08 can reach a remaining site: E04's seat cannot be moved or filled.
    homes = {e: ONLY_AUXA for e in ("E01", "E04", "E06", "E07")}
    inst, result = _joint_day(homes)
    plan = _plan(inst, result, "AUXA")
    assert plan is not None and plan.blocked is not None and plan.seats == []
    assert plan.blocked["rules"] == ["S3", "R1"] and plan.blocked["need"] == "A08"
    assert "max_travel_km" in plan.blocked["advice"]
    # Full rooms instead: the main group's room is booked up and AUXB is full, so the seats have nowhere to go.
    inst, result = _joint_day({})
    p = inst["projects"][0]
    inst["room_bookings"] = [{"room": "MAIN-R1", "seats": 6, "start": p["start"], "end": p["end"]}]
    plan = _plan(inst, result, "AUXA")
    assert plan is not None and plan.blocked is not None
    assert plan.blocked["rules"] == ["S1", "S4"] and "free seats" in plan.blocked["advice"]


def test_main_room_closure_splits_the_main_group_when_no_room_takes_it_whole() -> None:
    inst, result = tiny_day()
    inst["sites"][0] = site("MAIN", 36.65, 117.12, seats=(9, 2))
    result["projects"][0]["representatives_room"] = "MAIN-R1"
    plan = _plan(inst, result, "MAIN", "MAIN-R1")
    assert plan is not None and plan.blocked is None and plan.replaced == []
    at_main = [s for s in plan.seats if s["site"] == "MAIN"]
    assert len(at_main) == 1 and at_main[0]["room"] == "MAIN-R2" and plan.representatives_room == "MAIN-R2"
    assert plan.aux_sites == ["AUXA", "AUXB"]
    assert [s for s in plan.seats if s["expert"] in ("E03", "E08")] == result["projects"][0]["seats"][2:]
    assert _check_applied(inst, result, plan, ["MAIN-R1"]) == []


def test_alternate_who_cannot_reach_the_remaining_sites_is_dropped_and_replaced(session: Session) -> None:
    from experts.models import Expert

    row = _drawn(session)
    assert row.id is not None
    before = draw_result(row)["projects"][0]
    need, gone = before["alternates"][0]["need"], before["alternates"][0]["experts"][0]
    # ~97 km from AUXA, over 100 km from MAIN and AUXB: once AUXA closes this alternate fits nowhere (S3).
    expert = session.exec(select(Expert).where(Expert.code == gone)).one()
    expert.lat, expert.lon = 36.65, 118.70
    session.add(expert)
    session.commit()
    report = replan_closure(session, site_code="AUXA", room_code=None, start=DAY[0], end=DAY[1], now=BEFORE)
    session.commit()
    entry = report["replanned"][0]
    assert entry["alternates_dropped"] >= 1 and entry["alternates_added"] >= 1 and entry["alternates_short"] == []
    after = service.reveal(session, draw_id=row.id, now=AFTER)["projects"][0]
    alts = {a["need"]: a["experts"] for a in after["alternates"]}
    assert gone not in alts[need] and all(len(v) >= 2 for v in alts.values())
    doc = export_instance(session, project_codes=["P1"], rules=service.deployment_rules().as_json())
    assert check(doc, {**draw_result(session.get(Draw, row.id)), "projects": [after]}) == []  # type: ignore[arg-type]
    payload = [e.payload for e in ledger.entries(session) if e.kind == "draw.replan"][-1]
    assert json.loads(payload)["alternates_added"] == entry["alternates_added"]
