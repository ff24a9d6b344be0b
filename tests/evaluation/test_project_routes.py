"""Routes of /api/projects and /api/replan: validation naming fields, scope refusals, bid opening."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import ledger
from access.models import UserCreate
from accounts.service import create_user
from config import clock
from config.settings import get_settings
from tests.api.test_pages import csrf_of, login
from tests.api_support import AFTER_START, PASSWORD, app_client, bearer

NEW: dict[str, Any] = {
    "code": "P9", "procedure": "engineering_tender", "budget": 1_000_000, "region": "370114",
    "start": "2026-12-01T09:00:00+08:00", "end": "2026-12-01T12:00:00+08:00", "size": 5, "representatives": 1,
    "tenderer_code": "TEND", "main_site_code": "MAIN", "aux_site_codes": ["AUXA"],
    "needs": [{"specialty": "A08", "count": 4}],
}


def _field(r: Any) -> str:
    return str(r.json()["detail"][0]["loc"][-1])


def test_create_list_update_cancel(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        h = bearer(c, "coord")
        for over, field in (({"main_site_code": "NOPE"}, "main_site_code"), ({"end": "2026-12-01T08:00:00+08:00"},
                            "end"), ({"needs": [{"specialty": "A08", "count": 2}]}, "needs"),
                            ({"start": "2026-12-01T09:00:00"}, "start")):
            r = c.post("/api/projects", json={**NEW, **over}, headers=h)
            assert r.status_code == 422 and _field(r) == field, r.text
        r = c.post("/api/projects", json=NEW, headers=h)
        assert r.status_code == 201 and r.json()["needs"] == [{"specialty": "A08", "count": 4}]
        assert c.post("/api/projects", json=NEW, headers=h).status_code == 409
        listed = c.get("/api/projects", params={"from": "2026-11-30T00:00:00+08:00", "limit": 1}, headers=h).json()
        assert listed["total"] == 1 and [p["code"] for p in listed["items"]] == ["P9"]
        assert c.get("/api/projects", params={"site_code": "AUXB"}, headers=h).json()["total"] == 1  # P1 only
        r = c.patch("/api/projects/P9", json={"size": 7, "representatives": 2,
                                              "needs": [{"specialty": "A08", "count": 5}]}, headers=h)
        assert r.status_code == 200 and r.json()["size"] == 7
        assert _field(c.patch("/api/projects/P9", json={"size": 9}, headers=h)) == "needs"
        assert c.post("/api/projects/P9/cancel", headers=h).json()["status"] == "cancelled"
        assert c.patch("/api/projects/P9", json={"name": "x"}, headers=h).status_code == 409


def test_scope_refusals(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        off, auxa = bearer(c, "coord_off"), bearer(c, "coord_auxa")
        assert c.get("/api/projects/P1", headers=off).status_code == 404
        assert c.get("/api/projects", headers=off).json()["total"] == 0
        assert c.patch("/api/projects/P1", json={"name": "x"}, headers=off).status_code == 404
        assert c.post("/api/projects/P1/bidders", json={"bidder_codes": []}, headers=off).status_code == 404
        # coord_auxa sees P1 (its auxiliary site) but may not change it: its main site is out of scope.
        assert c.get("/api/projects/P1", headers=auxa).status_code == 200
        assert c.post("/api/projects/P1/cancel", headers=auxa).status_code == 404
        assert c.post("/api/projects", json=NEW, headers=auxa).status_code == 404
        assert c.get("/api/projects/P1", headers=bearer(c, "expert1")).status_code == 403
        assert c.get("/api/projects/P1", headers=bearer(c, "super")).status_code == 200
        with Session(engine) as s:
            denied = [e for e in ledger.entries(s) if "out of scope" in e.payload]
        assert len(denied) >= 5


def test_bid_opening_and_replan_routes(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        h = bearer(c, "coord")
        assert c.post("/api/draws", json={"project_codes": ["P1"], "seed": "5eed"}, headers=h).status_code == 201
        r = c.post("/api/projects/P1/bidders", json={"bidder_codes": ["BID1", "NOPE"]}, headers=h)
        assert r.status_code == 422 and _field(r) == "bidder_codes"
        r = c.post("/api/projects/P1/bidders", json={"bidder_codes": [f"EMP{i:02d}" for i in range(1, 16)]},
                   headers=h)
        body = r.json()
        # Every drawn expert works for a bidder now; the answer holds counts only (D5).
        assert r.status_code == 200 and body["conflicted"] == 4 and "E0" not in r.text
        detail = c.get("/api/projects/P1", headers=h).json()
        assert detail["bidders_count"] == 15 and detail["draws"][0]["seats_per_site"]
        r = c.post("/api/replan", json={"site_code": "AUXA", "start": "2026-11-23T08:00:00+08:00",
                                        "end": "2026-11-23T08:00:00+08:00"}, headers=h)
        assert r.status_code == 422 and _field(r) == "end"
        r = c.post("/api/replan", json={"site_code": "MAIN", "start": "2026-11-23T08:00:00+08:00",
                                        "end": "2026-11-23T18:00:00+08:00"}, headers=h)
        assert r.status_code == 200 and [b["project"] for b in r.json()["blocked"]] == ["P1"]
        r = c.post("/api/replan", json={"site_code": "MAIN", "start": "2026-11-23T08:00:00+08:00",
                                        "end": "2026-11-23T18:00:00+08:00"}, headers=bearer(c, "coord_off"))
        assert r.status_code == 404


def test_recorded_closure_replans_only_its_seats(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        h = bearer(c, "coord")
        drawn = c.post("/api/draws", json={"project_codes": ["P1"], "seed": "5eed"}, headers=h).json()
        before = drawn["projects"]["P1"]["seats_per_site"]
        closed = next(site for site in before if site != "MAIN")
        r = c.post("/api/closures", json={"site_code": closed, "start": "2026-11-23T07:00:00+08:00",
                                          "end": "2026-11-23T20:00:00+08:00", "reason": "疫情封闭"}, headers=h)
        assert r.status_code == 201, r.text
        closure_id = r.json()["id"]
        assert c.post(f"/api/replan/closures/{closure_id}", headers=bearer(c, "coord_off")).status_code == 404
        assert c.post("/api/replan/closures/999999", headers=h).status_code == 404
        report = c.post(f"/api/replan/closures/{closure_id}", headers=h)
        assert report.status_code == 200, report.text
        assert [p["project"] for p in report.json()["replanned"]] == ["P1"]
        after = c.get(f"/api/draws/{drawn['id']}", headers=h).json()["projects"]["P1"]["seats_per_site"]
        assert closed not in after and sum(after.values()) == sum(before.values())
        assert all(after.get(site, 0) >= n for site, n in before.items() if site != closed)


def test_an_auxiliary_site_closing_hands_other_centres_projects_over(engine: Engine,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # Only a project's main site runs it: AUXA's staff close their site but do not move MAIN's committee.
    with app_client(engine, monkeypatch) as c:
        h = bearer(c, "coord")
        drawn = c.post("/api/draws", json={"project_codes": ["P1"], "seed": "5eed"}, headers=h).json()
        before = drawn["projects"]["P1"]["seats_per_site"]
        aux = bearer(c, "coord_auxa")
        r = c.post("/api/closures", json={"site_code": "AUXA", "start": "2026-11-23T07:00:00+08:00",
                                          "end": "2026-11-23T20:00:00+08:00"}, headers=aux)
        assert r.status_code == 201, r.text
        report = c.post(f"/api/replan/closures/{r.json()['id']}", headers=aux).json()
        assert report["replanned"] == [] and report["other_main_sites"] == ["P1"]
        assert c.get(f"/api/draws/{drawn['id']}", headers=h).json()["projects"]["P1"]["seats_per_site"] == before
        report = c.post("/api/replan", json={"site_code": "AUXA", "start": "2026-11-23T07:00:00+08:00",
                                             "end": "2026-11-23T20:00:00+08:00"}, headers=aux).json()
        assert report["replanned"] == [] and report["other_main_sites"] == ["P1"]
        # The main site's coordinator re-plans it, though AUXA is not theirs: their committee sits there.
        with Session(engine) as s:
            create_user(s, data=UserCreate.model_validate({"username": "coord_main", "password": PASSWORD,
                                                           "role": "coordinator", "site_codes": ["MAIN"]}))
            s.commit()
        assert c.post("/api/replan", json={"site_code": "AUXB", "start": "2026-11-23T07:00:00+08:00",
                                           "end": "2026-11-23T20:00:00+08:00"}, headers=bearer(c, "coord_off")
                      ).status_code == 404
        closure_id = r.json()["id"]
        # The console lists that closure for them, to re-plan but not to reopen (AUXA's staff own it).
        login(c, "coord_main")
        page = c.get("/closures").text
        assert f"/closures/{closure_id}/replan" in page and f"/closures/{closure_id}/delete" not in page
        # Re-planned from the page, P1 leaves AUXA and keeps its seat count.
        replanned = c.post(f"/closures/{closure_id}/replan", data={"csrf_token": csrf_of(page)})
        assert replanned.status_code == 200 and 'id="replan-report"' in replanned.text
        after = c.get(f"/api/draws/{drawn['id']}", headers=h).json()["projects"]["P1"]["seats_per_site"]
        assert "AUXA" not in after and sum(after.values()) == sum(before.values())
        c.cookies.clear()
        report = c.post("/api/replan", json={"site_code": "AUXA", "start": "2026-11-23T07:00:00+08:00",
                                             "end": "2026-11-23T20:00:00+08:00"}, headers=bearer(c, "coord_main"))
        assert report.status_code == 404  # no seat of theirs there any more: AUXA is not theirs to see


def test_a_project_that_starts_too_soon_cannot_be_drawn(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # Drawn after its start, a committee would unseal at once and its report would tell who is busy (D5).
    with app_client(engine, monkeypatch) as c:
        h = bearer(c, "coord")
        monkeypatch.setenv("YIDI_DRAW_MIN_LEAD_MINUTES", str(24 * 60))
        get_settings.cache_clear()
        try:
            r = c.post("/api/draws", json={"project_codes": ["P1"]}, headers=h)
            assert r.status_code == 409 and _field(r) == "project_codes" and "P1" in r.text, r.text
            committed = c.post("/api/draws/commitments", json={"project_codes": ["P1"]}, headers=h)
            assert committed.status_code == 409
        finally:
            monkeypatch.delenv("YIDI_DRAW_MIN_LEAD_MINUTES")
            get_settings.cache_clear()
        committed = c.post("/api/draws/commitments", json={"project_codes": ["P1"]}, headers=h)
        assert committed.status_code == 201, committed.text
        monkeypatch.setattr(clock, "now", lambda: AFTER_START)
        r = c.post(f"/api/draws/{committed.json()['id']}/run", headers=h)
        assert r.status_code == 409 and _field(r) == "project_codes"
        assert c.get("/api/projects/P1", headers=h).json()["status"] == "planned"
