"""Public bid openings: which rooms may be public, the watch link's window, counts, pages (both databases).

The tiny day (tests/api_support.py) has rooms MAIN-R1/R2 and the clock at BEFORE_START; P1 is
drawn by the tests that need seats.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import ledger
from av_monitor.schedule import scheduled_rooms
from config import clock
from evaluation.export import export_instance
from evaluation.models import Seat
from openings import service
from openings.models import PublicOpening
from tests.api.test_pages import csrf_of, login
from tests.api_support import BEFORE_START, app_client, bearer
from venues.models import Room


def _when(hours: float) -> str:
    return (BEFORE_START + timedelta(hours=hours)).isoformat()


def _opening(c: TestClient, room: str, *, start: float = 1, end: float = 3, who: str = "coord",
             title: str = "某道路工程开标") -> dict:
    r = c.post(f"/api/rooms/{room}/openings", json={"title": title, "start": _when(start), "end": _when(end)},
               headers=bearer(c, who))
    assert r.status_code == 201, r.text
    return dict(r.json())


def _make_opening_room(c: TestClient, room: str) -> None:
    r = c.put(f"/api/rooms/{room}/purpose", json={"purpose": "opening"}, headers=bearer(c, "admin"))
    assert r.status_code == 200 and r.json()["purpose"] == "opening", r.text


def _kinds(engine: Engine) -> list[str]:
    with Session(engine) as s:
        return [e.kind for e in ledger.entries(s)]


def _rows(engine: Engine) -> list[PublicOpening]:
    with Session(engine) as s:
        return list(s.exec(select(PublicOpening)).all())


def test_an_evaluation_room_cannot_be_made_public(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        for who in ("coord", "admin"):
            r = c.post("/api/rooms/MAIN-R1/openings", json={"title": "x", "start": _when(1), "end": _when(2)},
                       headers=bearer(c, who))
            assert r.status_code == 409, r.text
            assert r.json()["detail"][0]["loc"] == ["room_code"] and "evaluation room" in r.json()["detail"][0]["msg"]
        page = c.get("/rooms/MAIN-R1/openings")  # not logged in on the page side: sent to log in
        assert page.status_code in (200, 303) and "opening-form" not in page.text
    assert _rows(engine) == [] and "opening.created" not in _kinds(engine)


def test_a_room_seating_a_committee_stays_an_evaluation_room(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        r = c.post("/api/draws", json={"project_codes": ["P1"], "seed": "5eed"}, headers=bearer(c, "admin"))
        assert r.status_code == 201, r.text
        with Session(engine) as s:
            seated = sorted({room.code for room in s.exec(select(Room).join(Seat, Seat.room_id == Room.id)).all()})
        assert seated
        refused = c.put(f"/api/rooms/{seated[0]}/purpose", json={"purpose": "opening"}, headers=bearer(c, "admin"))
        assert refused.status_code == 409 and refused.json()["detail"][0]["loc"] == ["purpose"]
        assert "P1" in refused.json()["detail"][0]["msg"]
        with Session(engine) as s:
            assert s.exec(select(Room).where(Room.code == seated[0])).one().purpose == "evaluation"


def test_the_draw_never_seats_a_committee_in_a_bid_opening_room(engine: Engine,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        _make_opening_room(c, "MAIN-R1")
        with Session(engine) as s:
            doc = export_instance(s, project_codes=["P1"])
        rooms = {r["id"] for site in doc["sites"] for r in site["rooms"]}
        assert "MAIN-R1" not in rooms and "MAIN-R2" in rooms
        r = c.post("/api/draws", json={"project_codes": ["P1"], "seed": "5eed"}, headers=bearer(c, "admin"))
        assert r.status_code == 201, r.text
        with Session(engine) as s:
            opening_room = s.exec(select(Room).where(Room.code == "MAIN-R1")).one()
            assert s.exec(select(Seat).where(Seat.room_id == opening_room.id)).first() is None
            assert s.exec(select(Seat)).first() is not None


def test_who_may_change_a_purpose_and_make_an_opening(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        body = {"purpose": "opening"}
        assert c.put("/api/rooms/MAIN-R2/purpose", json=body, headers=bearer(c, "coord")).status_code == 403
        assert c.put("/api/rooms/MAIN-R2/purpose", json={"purpose": "public"},
                     headers=bearer(c, "admin")).status_code == 422
        _make_opening_room(c, "MAIN-R2")
        window = {"title": "开标", "start": _when(1), "end": _when(2)}
        assert c.post("/api/rooms/MAIN-R2/openings", json=window, headers=bearer(c, "super")).status_code == 403
        assert c.post("/api/rooms/MAIN-R2/openings", json=window, headers=bearer(c, "coord_off")).status_code == 404
        assert c.get("/api/rooms/MAIN-R2/openings", headers=bearer(c, "super_off")).status_code == 404
        made = _opening(c, "MAIN-R2", who="coord")
        listed = c.get("/api/rooms/MAIN-R2/openings", headers=bearer(c, "super")).json()
        assert [o["id"] for o in listed] == [made["id"]] and listed[0]["watch_path"].startswith("/watch/")
        assert c.delete(f"/api/openings/{made['id']}", headers=bearer(c, "coord_off")).status_code == 404
        back = c.put("/api/rooms/MAIN-R2/purpose", json={"purpose": "evaluation"}, headers=bearer(c, "admin"))
        assert back.status_code == 409, "a room with an opening to come stays a bid-opening room"
    assert _kinds(engine).count("opening.room_purpose") == 1 and _kinds(engine).count("opening.created") == 1


def test_bad_windows_name_their_field(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        _make_opening_room(c, "MAIN-R2")
        coord = bearer(c, "coord")

        def refused(body: dict, field: str, status: int) -> None:
            r = c.post("/api/rooms/MAIN-R2/openings", json=body, headers=coord)
            assert r.status_code == status, r.text
            assert field in r.json()["detail"][0]["loc"], r.json()

        refused({"title": "x", "start": _when(2), "end": _when(1)}, "body", 422)
        refused({"title": "", "start": _when(1), "end": _when(2)}, "title", 422)
        refused({"title": "x", "start": _when(-5), "end": _when(-4)}, "end", 409)
        refused({"title": "x", "start": _when(1), "end": _when(20)}, "end", 409)
        _opening(c, "MAIN-R2", start=1, end=3)
        refused({"title": "y", "start": _when(2), "end": _when(4)}, "start", 409)
        _opening(c, "MAIN-R2", start=3, end=4, title="第二场")
    assert len(_rows(engine)) == 2


def test_the_watch_link_works_in_its_window_only(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        _make_opening_room(c, "MAIN-R2")
        made = _opening(c, "MAIN-R2", start=2, end=3)
        token = made["watch_path"].rsplit("/", 1)[1]
        facts = c.get(f"/api/watch/{token}")
        assert facts.status_code == 200 and facts.json()["status"] == "scheduled"
        assert set(facts.json()) == {"title", "start", "end", "status", "opens_at"}, "nothing of the room itself"
        sdp = {"Content-Type": "application/sdp"}
        early = c.post(f"/api/watch/{token}/whep", content="v=0\r\n", headers=sdp)
        assert early.status_code == 403 and early.json()["detail"][0]["loc"] == ["token"]
        monkeypatch.setattr(clock, "now", lambda: BEFORE_START + timedelta(hours=1, minutes=40))  # start − 20 min
        assert c.get(f"/api/watch/{token}").json()["status"] == "live"
        # Through the link's checks: only the offer itself is wrong now.
        bad_offer = c.post(f"/api/watch/{token}/whep", content="v=0\r\n", headers=sdp)
        assert bad_offer.status_code == 400 and bad_offer.json()["detail"][0]["loc"] == ["sdp"]
        assert c.post(f"/api/watch/{token}/whep", content="v=0", headers={"Content-Type": "text/plain"}
                      ).status_code == 415
        page = c.get(f"/watch/{token}")
        assert page.status_code == 200 and "某道路工程开标" in page.text and "/static/watch.js" in page.text
        assert "MAIN-R2" not in page.text
        assert c.get("/watch/" + "x" * 32).status_code == 404
        assert c.post("/api/watch/" + "x" * 32 + "/whep", content="v=0\r\n", headers=sdp).status_code == 404
        assert c.delete(f"/api/openings/{made['id']}", headers=bearer(c, "coord")).json()["status"] == "revoked"
        assert c.get(f"/api/watch/{token}").status_code == 404
        assert c.post(f"/api/watch/{token}/whep", content="v=0\r\n", headers=sdp).status_code == 404
        monkeypatch.setattr(clock, "now", lambda: BEFORE_START + timedelta(hours=4))
        other = _opening(c, "MAIN-R2", start=4.5, end=5)
        monkeypatch.setattr(clock, "now", lambda: BEFORE_START + timedelta(hours=5, minutes=1))
        assert c.get(other["watch_path"].replace("/watch/", "/api/watch/")).json()["status"] == "ended"
    assert "opening.revoked" in _kinds(engine)


def test_views_add_up_and_the_peak_only_grows(session: Session) -> None:
    from tests.factories import make_room, make_site

    room = make_site(session)
    r = make_room(session, site=room)
    r.purpose = "opening"
    session.add(r)
    session.flush()
    assert r.id is not None
    opening = PublicOpening(room_id=r.id, title="t", start=BEFORE_START, end=BEFORE_START + timedelta(hours=1),
                            token="t" * 32, created_by="test")
    session.add(opening)
    session.commit()
    for watching in (1, 3, 2):
        service.count_view(session, opening_id=opening.id or 0, watching=watching)
    session.commit()
    session.refresh(opening)
    assert (opening.views, opening.peak_viewers) == (3, 3)
    assert service.recorded_rooms(session, now=BEFORE_START - timedelta(minutes=10)) == {r.code}
    assert service.recorded_rooms(session, now=BEFORE_START - timedelta(hours=2)) == set()
    # The recording schedule follows the opening like an evaluation (lead time to end + margin).
    assert r.code in scheduled_rooms(session, now=BEFORE_START + timedelta(minutes=80))
    assert r.code not in scheduled_rooms(session, now=BEFORE_START + timedelta(minutes=100))


def test_the_openings_page_shows_counts_and_makes_an_opening(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        _make_opening_room(c, "MAIN-R2")
        login(c, "coord")
        page = c.get("/rooms/MAIN-R2/openings")
        assert page.status_code == 200 and 'id="opening-form"' in page.text
        start = (BEFORE_START + timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M")  # local time (+8 h): 1 h ahead
        end = (BEFORE_START + timedelta(hours=10)).strftime("%Y-%m-%dT%H:%M")
        r = c.post("/rooms/MAIN-R2/openings", data={"csrf_token": csrf_of(page.text), "title": "开标一",
                                                    "start": start, "end": end}, follow_redirects=True)
        assert r.status_code == 200 and "开标一" in r.text and "/watch/" in r.text
        refused = c.post("/rooms/MAIN-R1/openings", data={"csrf_token": csrf_of(page.text), "title": "x",
                                                          "start": start, "end": end})
        assert refused.status_code == 409 and 'id="form-error"' in refused.text
        assert 'id="purpose-form"' not in page.text, "only an admin changes a purpose"
    assert [o.title for o in _rows(engine)] == ["开标一"]
