"""Input bounds at the door: dates in FIRST_YEAR..LAST_YEAR, finite budgets, addressable codes, plausible experts.

Each refusal is a 422 naming the field; the pages stay up for rows stored before the bounds existed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.pages.common import fmt_dt
from config import clock
from config.types import FIRST_YEAR, LAST_YEAR
from evaluation.models import Project
from tests.api.test_pages import login
from tests.api_support import app_client, bearer

PROJECT = {"code": "Z1", "name": "z", "procedure": "gp_negotiation", "budget": 500000, "region": "370114",
           "tenderer_code": "OTHER", "start": "2026-12-23T08:00:00+08:00", "end": "2026-12-23T10:00:00+08:00",
           "size": 3, "representatives": 1, "main_site_code": "MAIN", "aux_site_codes": [],
           "needs": [{"specialty": "B01", "count": 2}]}
EXPERT = {"code": "E98", "name": "王五", "birth_date": "1975-03-04", "region": "370102", "lat": 36.5, "lon": 117.1,
          "specialties": ["A0801"]}
FAR_PAST = {"start": "0001-01-01T00:00:00+00:00", "end": "0001-01-01T02:00:00+00:00"}
FAR_FUTURE = {"start": "9999-12-31T20:00:00+00:00", "end": "9999-12-31T23:59:59+00:00"}


def _locs(response: Any) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    return [d["loc"] for d in response.json()["detail"]]


@pytest.mark.parametrize("dates", [FAR_PAST, FAR_FUTURE], ids=["year1", "year9999"])
def test_project_and_closure_dates_outside_the_years_are_422(engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                                             dates: dict[str, str]) -> None:
    with app_client(engine, monkeypatch) as c:
        h = bearer(c, "coord")
        assert ["body", "start"] in _locs(c.post("/api/projects", json={**PROJECT, **dates}, headers=h))
        assert ["body", "start"] in _locs(c.patch("/api/projects/P1", json={"start": dates["start"]}, headers=h))
        closure = {"site_code": "MAIN", **dates}
        assert ["body", "start"] in _locs(c.post("/api/closures", json=closure, headers=h))
        assert ["body", "start"] in _locs(c.post("/api/replan", json={"site_code": "MAIN", **dates}, headers=h))
        assert ["query", "since"] in _locs(c.get("/api/ledger/entries", params={"since": dates["start"]}, headers=h))
        # Nothing was stored, so the draw of the day and the pages still work.
        assert c.post("/api/draws", json={"project_codes": ["P1"], "seed": "5eed"}, headers=h).status_code == 201
        login(c, "coord")
        assert c.get("/closures").status_code == 200
    with Session(engine) as s:
        assert s.exec(select(Project).where(Project.code == "Z1")).first() is None


def test_the_years_at_the_bounds_are_accepted(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        h = bearer(c, "coord")
        last = {"start": f"{LAST_YEAR}-12-31T08:00:00+08:00", "end": f"{LAST_YEAR}-12-31T10:00:00+08:00"}
        assert c.post("/api/projects", json={**PROJECT, **last}, headers=h).status_code == 201
        first = {"site_code": "AUXC", "start": f"{FIRST_YEAR}-01-01T00:00:00+00:00",
                 "end": f"{FIRST_YEAR}-01-02T00:00:00+00:00"}
        assert c.post("/api/closures", json=first, headers=h).status_code == 201
        login(c, "coord")
        assert c.get("/projects/Z1").status_code == 200
        assert c.get("/closures").status_code == 200
        assert c.get(f"/calendar?month={LAST_YEAR}-12").status_code == 200


def test_budget_must_be_finite_and_sane(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        h = bearer(c, "coord")
        for budget in (1e308, 1e14, "Infinity", "NaN", "-Infinity"):
            got = c.post("/api/projects", json={**PROJECT, "budget": budget}, headers=h)
            assert _locs(got) == [["body", "budget"]], budget
            assert _locs(c.patch("/api/projects/P1", json={"budget": budget}, headers=h)) == [["body", "budget"]]
        # A bare Infinity literal (Python's JSON reader takes it) is a 422 too, not a 500 echoing it back.
        raw = json.dumps({**PROJECT, "budget": float("inf"), "code": "Z2"})
        got = c.post("/api/projects", content=raw, headers={**h, "Content-Type": "application/json"})
        assert _locs(got) == [["body", "budget"]] and got.json()["detail"][0]["input"] == "inf"
        assert c.post("/api/projects", json={**PROJECT, "budget": 1e12}, headers=h).status_code == 201


def test_project_codes_must_be_addressable(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        h = bearer(c, "coord")
        for code in ("a/b", "a?b#c", " ", "..", "项目", "-x", "a b"):
            got = c.post("/api/projects", json={**PROJECT, "code": code}, headers=h)
            assert _locs(got) == [["body", "code"]], code
        good = c.post("/api/projects", json={**PROJECT, "code": "P-2026-000001.a_b"}, headers=h)
        assert good.status_code == 201, good.text
        assert c.get("/api/projects/P-2026-000001.a_b", headers=h).status_code == 200


def test_calendar_outside_the_years_is_a_422_page(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        login(c, "coord")
        for month in ("0001-01", "9999-12", f"{FIRST_YEAR - 1}-12", f"{LAST_YEAR + 1}-01"):
            assert c.get(f"/calendar?month={month}").status_code == 422, month
        assert c.get(f"/calendar?month={FIRST_YEAR}-01").status_code == 200


def test_rows_stored_before_the_bounds_still_read(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        with Session(engine) as s:
            p1 = s.exec(select(Project).where(Project.code == "P1")).one()
            p1.start, p1.end = datetime(9999, 12, 31, 20, tzinfo=UTC), datetime(9999, 12, 31, 23, tzinfo=UTC)
            s.add(p1)
            s.commit()
        h = bearer(c, "coord")
        got = c.get("/api/projects/P1", headers=h)
        assert got.status_code == 200 and got.json()["start"].startswith("9999-12-31"), got.text
        assert c.get("/api/projects", headers=h).status_code == 200


def test_fmt_dt_survives_the_ends_of_datetime() -> None:
    assert fmt_dt(datetime(9999, 12, 31, 23, tzinfo=UTC)) == "9999-12-31 23:00 UTC"
    assert fmt_dt(datetime(2026, 11, 23, 1, tzinfo=UTC)) == "2026-11-23 09:00"
    assert fmt_dt(None) == ""


RECORDS: list[tuple[str, dict[str, str], str]] = [
    ("/api/experts/E01/leave", {"from_date": "0001-01-01", "to_date": "2026-01-02"}, "from_date"),
    ("/api/experts/E01/leave", {"from_date": "2026-01-01", "to_date": "9999-12-31"}, "to_date"),
    ("/api/experts/E01/relations", {"org_code": "BID1", "kind": "director", "to_date": "9999-12-31"}, "to_date"),
    ("/api/experts/E01/relations", {"org_code": "BID1", "kind": "director", "from_date": "0001-01-01"},
     "from_date"),
    ("/api/experts/E01/penalties", {"date": "0001-01-01"}, "date"),
]
IMPLAUSIBLE: list[tuple[dict[str, str], str]] = [
    ({"birth_date": "1800-01-01"}, "birth_date"),
    ({"birth_date": "2030-01-01"}, "birth_date"),
    ({"region": "999999"}, "region"),
    ({"region": "000000"}, "region"),
    ({"name": "\u202eevil"}, "name"),
    ({"name": "a\u2066b"}, "name"),
    ({"name": "tab\there"}, "name"),
    ({"name": "bell\x07"}, "name"),
]


def test_expert_records_and_implausible_experts_are_422(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        h = bearer(c, "coord")
        for path, body, field in RECORDS:
            assert _locs(c.post(path, json=body, headers=h)) == [["body", field]], (path, body)
        for over, field in IMPLAUSIBLE:
            assert _locs(c.post("/api/experts", json={**EXPERT, **over}, headers=h)) == [["body", field]], over
            assert _locs(c.patch("/api/experts/E01", json=over, headers=h)) == [["body", field]], over
        assert c.post("/api/experts", json=EXPERT, headers=h).status_code == 201
        assert c.post("/api/experts/E01/leave", json={"from_date": "2026-01-01", "to_date": "2026-01-02"},
                      headers=h).status_code == 201


def test_the_youngest_expert_follows_the_service_clock(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        h = bearer(c, "coord")
        monkeypatch.setattr(clock, "now", lambda: datetime(2030, 6, 1, 12, tzinfo=UTC))
        born = {**EXPERT, "birth_date": "2012-06-01"}
        assert c.post("/api/experts", json=born, headers=h).status_code == 201
        late = {**EXPERT, "code": "E97", "birth_date": "2012-06-02"}
        assert _locs(c.post("/api/experts", json=late, headers=h)) == [["body", "birth_date"]]
        monkeypatch.setattr(clock, "now", lambda: datetime(2030, 6, 2, 12, tzinfo=UTC))
        assert c.post("/api/experts", json=late, headers=h).status_code == 201
