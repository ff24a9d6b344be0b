"""The console refuses what the API refuses, and odd input gets a 422 page instead of a 500."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from evaluation.models import Draw
from tests.api.test_pages import csrf_of, login
from tests.api_support import app_client


def test_an_auxiliary_site_coordinator_cannot_draw_the_project(engine: Engine,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        login(client, "coord_auxa")
        page = client.get("/projects/P1")
        assert page.status_code == 200  # AUXA is one of P1's auxiliary sites: it may look
        r = client.post("/projects/P1/draws", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
        assert r.status_code == 404
        with Session(engine) as s:
            assert s.exec(select(Draw)).first() is None


@pytest.mark.parametrize("url", ["/experts?page=999999999999999999", "/rooms/day?site=MAIN&date=0001-01-01",
                                 "/rooms/day?site=MAIN&date=9999-12-31", "/stats?start=0001-01-01&end=0002-01-01"])
def test_out_of_range_queries_are_422_pages(engine: Engine, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    with app_client(engine, monkeypatch) as client:
        login(client, "coord")
        assert client.get(url).status_code == 422


def test_huge_draw_ids_are_422(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        login(client, "coord")
        token = csrf_of(client.get("/projects/P1").text)
        for action in ("run", "reveal", "replacements", "notify"):
            r = client.post(f"/projects/P1/draws/99999999999999999999/{action}", data={"csrf_token": token})
            assert r.status_code == 422, action
