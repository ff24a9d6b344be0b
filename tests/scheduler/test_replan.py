"""Re-planning after a site or room closure: only the closed site's seats change (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, select

import ledger
from scheduler import service
from scheduler.commitments import draw_result
from scheduler.export import export_instance
from scheduler.importer import import_instance
from scheduler.models import Draw, DrawProject, Seat
from scheduler.replan import replan_closure
from scheduler.sealing import seat_aad, unseal_text
from tests.checker import check
from tests.factories_instance import site, tiny_day
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
    from scheduler.replan import ReplanInputError

    for kwargs, field in (({"site_code": "NOPE"}, "site_code"), ({"room_code": "MAIN-R1"}, "room_code"),
                          ({"end": DAY[0]}, "end")):
        args: dict[str, Any] = {"site_code": "AUXA", "room_code": None, "start": DAY[0], "end": DAY[1], **kwargs}
        with pytest.raises(ReplanInputError) as err:
            replan_closure(session, now=BEFORE, **args)
        assert err.value.field == field


def test_expert_who_cannot_reach_another_site_is_replaced(session: Session) -> None:
    from experts.models import Expert
    from scheduler.models import Replacement

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
