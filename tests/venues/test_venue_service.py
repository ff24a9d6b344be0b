"""Venue services on SQLite and PostgreSQL: CRUD, clean duplicate errors, aware datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from venues import service
from venues.exceptions import DuplicateCodeError, InvalidVenueDataError, NotFoundError
from venues.models import RoomBooking, RoomBookingCreate, RoomCreate, Site, SiteCreate, SiteUpdate

CST = timezone(timedelta(hours=8))


def _site(code: str, **kw: object) -> SiteCreate:
    data: dict[str, object] = {"code": code, "name": f"{code} centre", "region": "370100", "lat": 36.651,
                               "lon": 117.12, "kind": "main_centre"}
    return SiteCreate.model_validate({**data, **kw})


def test_create_get_list_update_sites(session: Session) -> None:
    service.create_site(session, data=_site("ZQ", region="370114", lat=36.714, lon=117.526, kind="sub_centre"))
    service.create_site(session, data=_site("JN"))
    service.create_site(session, data=_site("LW", active=False, kind="sub_centre"))
    session.commit()

    jn = service.get_site_by_code(session, code="JN")
    assert (jn.name, jn.kind, jn.active, jn.lat) == ("JN centre", "main_centre", True, 36.651)
    assert [s.code for s in service.list_sites(session)] == ["JN", "LW", "ZQ"]
    assert [s.code for s in service.list_sites(session, active_only=True)] == ["JN", "ZQ"]
    assert [s.code for s in service.list_sites(session, kind="sub_centre")] == ["LW", "ZQ"]

    service.update_site(session, code="ZQ", data=SiteUpdate(name="章丘分中心"))
    service.set_site_active(session, code="LW", active=True)
    session.commit()
    assert service.get_site_by_code(session, code="ZQ").name == "章丘分中心"
    assert service.get_site_by_code(session, code="ZQ").region == "370114"  # untouched by the update
    assert [s.code for s in service.list_sites(session, active_only=True)] == ["JN", "LW", "ZQ"]

    with pytest.raises(NotFoundError, match="no site with code 'XX'"):
        service.get_site_by_code(session, code="XX")


def test_create_models_validate_input() -> None:
    with pytest.raises(ValidationError):
        _site("JN", region="3701")
    with pytest.raises(ValidationError):
        _site("JN", kind="palace")
    with pytest.raises(ValidationError):
        _site("JN", lat=91.0)


def test_duplicate_site_code_is_a_domain_error_and_the_session_stays_usable(session: Session) -> None:
    service.create_site(session, data=_site("JN"))
    session.commit()
    with pytest.raises(DuplicateCodeError) as info:
        service.create_site(session, data=_site("JN", name="other"))
    assert (info.value.entity, info.value.code) == ("site", "JN")
    service.create_site(session, data=_site("ZQ"))
    session.commit()
    assert [s.code for s in service.list_sites(session)] == ["JN", "ZQ"]


def test_duplicate_found_only_by_the_database_is_still_a_domain_error(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.create_site(session, data=_site("JN"))
    session.commit()
    # Simulate a concurrent insert: the pre-check misses, the unique index catches it.
    monkeypatch.setattr(service, "_site_or_none", lambda _s, _c: None)
    with pytest.raises(DuplicateCodeError):
        service.create_site(session, data=_site("JN", name="racer"))
    assert session.exec(select(Site.name)).all() == ["JN centre"]


def test_rooms(session: Session) -> None:
    service.create_site(session, data=_site("JN"))
    service.create_site(session, data=_site("ZQ"))
    service.add_room(session, site_code="JN", data=RoomCreate(code="JN-R2", seats=5))
    service.add_room(session, site_code="JN", data=RoomCreate(code="JN-R1", seats=9))
    service.add_room(session, site_code="ZQ", data=RoomCreate(code="ZQ-R1", seats=7))
    session.commit()
    assert [(r.code, r.seats) for r in service.list_rooms(session, site_code="JN")] == [("JN-R1", 9), ("JN-R2", 5)]
    assert [r.code for r in service.list_rooms(session)] == ["JN-R1", "JN-R2", "ZQ-R1"]
    with pytest.raises(DuplicateCodeError):
        service.add_room(session, site_code="ZQ", data=RoomCreate(code="JN-R1", seats=3))
    with pytest.raises(NotFoundError):
        service.add_room(session, site_code="XX", data=RoomCreate(code="XX-R1", seats=3))
    room = service.get_room_by_code(session, code="ZQ-R1")
    assert room.site_id == service.get_site_by_code(session, code="ZQ").id


def test_room_bookings_keep_their_instant_and_filter_by_overlap(engine: Engine) -> None:
    start = datetime(2026, 11, 23, 9, 0, tzinfo=CST)
    with Session(engine) as s:
        service.create_site(s, data=_site("JN"))
        service.add_room(s, site_code="JN", data=RoomCreate(code="JN-R1", seats=9))
        for hours in (0, 4, 8):
            data = RoomBookingCreate(seats=5, start=start + timedelta(hours=hours),
                                     end=start + timedelta(hours=hours + 3), note=f"+{hours}")
            service.book_room(s, room_code="JN-R1", data=data)
        with pytest.raises(InvalidVenueDataError, match="9 seats, 10 requested"):
            service.book_room(s, room_code="JN-R1", data=RoomBookingCreate(seats=10, start=start,
                                                                           end=start + timedelta(hours=1)))
        s.commit()
    with Session(engine) as s:
        rows = s.exec(select(RoomBooking).order_by(RoomBooking.id)).all()  # type: ignore[arg-type]
        assert rows[0].start == start and rows[0].start.utcoffset() is not None
        assert rows[0].start.astimezone(UTC) == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
        window = service.list_room_bookings(s, room_code="JN-R1", start=start + timedelta(hours=3),
                                             end=start + timedelta(hours=8))
        # [+0,+3) touches the window only at its end; [+8,+11) starts at the window's end.
        assert [b.note for b in window] == ["+4"]


def test_booking_create_rejects_reversed_window() -> None:
    t = datetime(2026, 11, 23, 9, 0, tzinfo=CST)
    with pytest.raises(ValidationError):
        RoomBookingCreate(seats=1, start=t, end=t)
    with pytest.raises(ValidationError):
        RoomBookingCreate(seats=1, start=datetime(2026, 11, 23, 9, 0), end=datetime(2026, 11, 23, 10, 0))


def test_sites_within_km(session: Session) -> None:
    service.create_site(session, data=_site("JN"))
    service.create_site(session, data=_site("ZQ", lat=36.714, lon=117.526))
    service.create_site(session, data=_site("QD", lat=36.067, lon=120.383))
    service.create_site(session, data=_site("LW", lat=36.213, lon=117.677, active=False))
    session.flush()
    found = service.sites_within_km(session, lat=36.70, lon=117.40, max_km=100.0)
    assert [s.code for s, _ in found] == ["ZQ", "JN"]
    assert found[0][1] < found[1][1] < 100.0
    assert [s.code for s, _ in service.sites_within_km(session, lat=36.70, lon=117.40, max_km=100.0,
                                                        active_only=False)] == ["ZQ", "JN", "LW"]
