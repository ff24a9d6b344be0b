"""Closures and opening hours reach the draw as whole-room bookings (S4), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlmodel import Session, select

from evaluation import service
from evaluation.export import export_instance
from evaluation.importer import import_instance
from evaluation.models import Seat
from scheduler.draw import draw_parsed
from scheduler.instance import canonical_bytes, parse_instance
from tests.factories_instance import tiny_day
from venues import closures
from venues.models import ClosureCreate, Room, RoomUpdate, Site
from venues.service import update_room

# P1 runs 2026-11-23 09:00-12:00 +08:00, i.e. 01:00-04:00 UTC.
P1 = (datetime(2026, 11, 23, 1, 0, tzinfo=UTC), datetime(2026, 11, 23, 4, 0, tzinfo=UTC))


def _load(session: Session) -> None:
    import_instance(session, tiny_day()[0])
    session.commit()


def _close(session: Session, site: str, room: str | None, start: datetime, end: datetime) -> None:
    closures.create_closure(session, data=ClosureCreate(site_code=site, room_code=room, start=start, end=end,
                                                        reason="epidemic"), actor="test")
    session.commit()


def test_no_closure_no_hours_keeps_the_export_unchanged(session: Session) -> None:
    _load(session)
    before = canonical_bytes(export_instance(session, project_codes=["P1"]))
    # A closure outside the project's window and hours covering it change nothing.
    _close(session, "MAIN", None, datetime(2026, 11, 24, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC))
    update_room(session, code="MAIN-R1", data=RoomUpdate(opens_at=time(8, 0), closes_at=time(18, 0)))
    session.commit()
    assert canonical_bytes(export_instance(session, project_codes=["P1"])) == before


def test_closures_and_hours_become_room_bookings_for_the_overlap(session: Session) -> None:
    _load(session)
    _close(session, "AUXA", None, datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    _close(session, "MAIN", "MAIN-R2", datetime(2026, 11, 23, 3, 0, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    update_room(session, code="AUXB-R1", data=RoomUpdate(opens_at=time(10, 0), closes_at=time(11, 30)))
    session.commit()
    got = export_instance(session, project_codes=["P1"])["room_bookings"]
    assert got == [
        {"room": "AUXA-R1", "seats": 6, "start": "2026-11-23T09:00:00+08:00", "end": "2026-11-23T10:00:00+08:00"},
        {"room": "AUXB-R1", "seats": 6, "start": "2026-11-23T09:00:00+08:00", "end": "2026-11-23T10:00:00+08:00"},
        {"room": "AUXB-R1", "seats": 6, "start": "2026-11-23T11:30:00+08:00", "end": "2026-11-23T12:00:00+08:00"},
        {"room": "MAIN-R2", "seats": 3, "start": "2026-11-23T11:00:00+08:00", "end": "2026-11-23T12:00:00+08:00"},
    ]
    # Reopening (deleting the closures) brings the plain export back.
    for c in closures.list_closures(session):
        closures.delete_closure(session, closure=c, actor="test")
    session.commit()
    assert [b["room"] for b in export_instance(session, project_codes=["P1"])["room_bookings"]] == ["AUXB-R1"] * 2


def _rooms_used(session: Session, draw_id: int | None) -> set[str]:
    room_code = dict(session.exec(select(Room.id, Room.code)).all())
    return {room_code[s.room_id] for s in session.exec(select(Seat).where(Seat.draw_id == draw_id)).all()}


def test_the_draw_seats_nobody_in_a_closed_room(session: Session) -> None:
    _load(session)
    doc = export_instance(session, project_codes=["P1"])
    baseline = draw_parsed(doc, parse_instance(doc), "5eed")["projects"][0]
    main_rooms = {s["room"] for s in baseline["seats"] if s["site"] == "MAIN"} | {baseline["representatives_room"]}
    assert len(main_rooms) == 1, baseline
    used = main_rooms.pop()
    _close(session, "MAIN", used, P1[0], P1[1])
    row = service.draw(session, project_codes=["P1"], seed_hex="5eed")
    assert row.status == "drawn"
    rooms = _rooms_used(session, row.id)
    assert rooms and used not in rooms
    assert any(r.startswith("MAIN-") for r in rooms)


def test_the_draw_seats_nobody_at_a_closed_site_or_outside_opening_hours(session: Session) -> None:
    _load(session)
    _close(session, "AUXA", None, P1[0], P1[1])
    update_room(session, code="AUXB-R1", data=RoomUpdate(opens_at=time(13, 0), closes_at=time(17, 0)))
    session.commit()
    row = service.draw(session, project_codes=["P1"], seed_hex="5eed")
    rooms = _rooms_used(session, row.id)
    assert not {"AUXA-R1", "AUXB-R1"} & rooms
    assert session.exec(select(Site).where(Site.code == "AUXA")).one().active  # closing is not deactivating
