"""Routes of sites, rooms and closures: access, scope refusals, validation and ledger (both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import ledger
from tests.api_support import app_client, bearer

NEW_SITE = {"code": "NEW", "name": "新场地", "region": "370100", "lat": 36.5, "lon": 117.0, "kind": "partner"}
CLOSURE = {"site_code": "MAIN", "start": "2026-11-23T08:00:00+08:00", "end": "2026-11-23T18:00:00+08:00",
           "reason": "疫情封闭"}


def _kinds(engine: Engine) -> list[str]:
    with Session(engine) as s:
        return [e.kind for e in ledger.entries(s)]


def test_staff_read_sites_and_rooms(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        r = c.get("/api/sites", headers=bearer(c, "super"))
        assert r.status_code == 200
        assert [s["code"] for s in r.json()] == ["AUXA", "AUXB", "AUXC", "MAIN", "OFF"]
        assert [s["code"] for s in c.get("/api/sites?active_only=true", headers=bearer(c, "coord_off")).json()] \
            == ["AUXA", "AUXB", "AUXC", "MAIN"]
        rooms = c.get("/api/sites/MAIN/rooms", headers=bearer(c, "super")).json()
        assert [(x["code"], x["seats"], x["opens_at"]) for x in rooms] == [("MAIN-R1", 9, None), ("MAIN-R2", 3, None)]
        assert c.get("/api/rooms/NOPE", headers=bearer(c, "super")).status_code == 404
        assert c.get("/api/sites", headers=bearer(c, "expert1")).status_code == 403
        assert c.get("/api/sites").status_code == 401


def test_site_creation_needs_a_centre_wide_coordinator(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        assert c.post("/api/sites", json=NEW_SITE, headers=bearer(c, "coord_auxa")).status_code == 403
        assert c.post("/api/sites", json=NEW_SITE, headers=bearer(c, "super")).status_code == 403
        r = c.post("/api/sites", json=NEW_SITE, headers=bearer(c, "coord"))
        assert r.status_code == 201 and r.json()["kind"] == "partner"
        assert c.post("/api/sites", json=NEW_SITE, headers=bearer(c, "admin")).status_code == 409
        bad = c.post("/api/sites", json={**NEW_SITE, "code": "X2", "region": "37"}, headers=bearer(c, "admin"))
        assert bad.status_code == 422 and "region" in bad.json()["detail"][0]["loc"]
    assert _kinds(engine).count("venue.site.create") == 1


def test_rooms_with_opening_hours_and_scope(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    room = {"code": "AUXA-R9", "seats": 4, "opens_at": "08:30:00", "closes_at": "17:30:00"}
    with app_client(engine, monkeypatch) as c:
        auxa = bearer(c, "coord_auxa")
        r = c.post("/api/sites/AUXA/rooms", json=room, headers=auxa)
        assert r.status_code == 201 and r.json()["opens_at"] == "08:30:00"
        # Out of scope: refused as if MAIN did not exist, and ledgered.
        assert c.post("/api/sites/MAIN/rooms", json={**room, "code": "MAIN-R9"}, headers=auxa).status_code == 404
        assert c.patch("/api/rooms/MAIN-R1", json={"seats": 1}, headers=auxa).status_code == 404
        assert c.patch("/api/sites/MAIN", json={"name": "x"}, headers=auxa).status_code == 404
        half = c.patch("/api/rooms/AUXA-R9", json={"opens_at": "09:00:00"}, headers=auxa)
        assert half.status_code == 422
        reversed_ = c.patch("/api/rooms/AUXA-R9", json={"opens_at": "18:00:00", "closes_at": "09:00:00"}, headers=auxa)
        assert reversed_.status_code == 422
        ok = c.patch("/api/rooms/AUXA-R9", json={"seats": 5, "opens_at": None, "closes_at": None}, headers=auxa)
        assert ok.status_code == 200 and (ok.json()["seats"], ok.json()["closes_at"]) == (5, None)
        assert c.get("/api/rooms/MAIN-R1", headers=bearer(c, "super")).json()["seats"] == 9
    kinds = _kinds(engine)
    assert kinds.count("auth.denied") == 3
    assert kinds.count("venue.room.create") == 1 and kinds.count("venue.room.update") == 1


def test_closures_create_list_delete(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        coord, auxa = bearer(c, "coord"), bearer(c, "coord_auxa")
        assert c.post("/api/closures", json=CLOSURE, headers=auxa).status_code == 404
        r = c.post("/api/closures", json={**CLOSURE, "room_code": "MAIN-R2"}, headers=coord)
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["site_code"], body["room_code"], body["created_by"]) == ("MAIN", "MAIN-R2", "user:coord")
        wrong_room = c.post("/api/closures", json={**CLOSURE, "room_code": "AUXA-R1"}, headers=coord)
        assert wrong_room.status_code == 422
        reversed_ = c.post("/api/closures", json={**CLOSURE, "end": CLOSURE["start"]}, headers=coord)
        assert reversed_.status_code == 422
        listed = c.get("/api/closures?site_code=MAIN", headers=bearer(c, "super")).json()
        assert [x["id"] for x in listed] == [body["id"]]
        assert c.get("/api/closures?site_code=AUXA", headers=coord).json() == []
        assert c.get("/api/closures?from=2026-11-24T00:00:00%2B08:00", headers=coord).json() == []
        assert c.delete(f"/api/closures/{body['id']}", headers=auxa).status_code == 404
        assert c.delete(f"/api/closures/{body['id']}", headers=coord).status_code == 204
        assert c.delete(f"/api/closures/{body['id']}", headers=coord).status_code == 404
        assert c.get("/api/closures", headers=coord).json() == []
    kinds = _kinds(engine)
    assert kinds.count("venue.closure.create") == 1 and kinds.count("venue.closure.delete") == 1
