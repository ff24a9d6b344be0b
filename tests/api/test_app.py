"""The HTTP service: health, draw with a sealed view, clear errors naming the field."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.api_support import app_client, bearer


@pytest.fixture()
def client(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with app_client(engine, monkeypatch) as c:
        c.headers.update(bearer(c, "coord"))
        yield c


def test_health(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"


def test_draw_shows_only_the_sealed_view(client: TestClient) -> None:
    r = client.post("/api/draws", json={"project_codes": ["P1"], "seed": "abcd"})
    assert r.status_code == 201
    body = r.json()
    assert body["seed"] is None and len(body["seed_sha256"]) == 64 and body["result_sha256"]
    assert sum(body["projects"]["P1"]["seats_per_site"].values()) == 4
    assert "E0" not in r.text  # no expert id leaks before the start (D5)
    assert client.get(f"/api/draws/{body['id']}").json()["result_sha256"] == body["result_sha256"]
    sealed = client.post(f"/api/draws/{body['id']}/reveal")
    assert sealed.status_code == 403 and "sealed" in sealed.text


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"project_codes": []}, "project_codes"), ({"project_codes": ["P1"], "seed": "xyz"}, "seed"),
     ({"seed": "00"}, "project_codes")],
)
def test_bad_draw_request_is_422_naming_the_field(client: TestClient, payload: dict, field: str) -> None:
    r = client.post("/api/draws", json=payload)
    assert r.status_code == 422 and field in r.text


def test_unknown_things_are_404(client: TestClient) -> None:
    assert client.get("/api/draws/999").status_code == 404
    r = client.post("/api/draws", json={"project_codes": ["NOPE"]})
    assert r.status_code == 404 and "NOPE" in r.text


def test_two_step_draw_shows_the_commitment_before_drawing(client: TestClient) -> None:
    import hashlib

    r = client.post("/api/draws/commitments", json={"project_codes": ["P1"], "seed": "beef"})
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "committed" and body["result_sha256"] is None
    assert body["seed_sha256"] == hashlib.sha256(bytes.fromhex("beef")).hexdigest()
    ran = client.post(f"/api/draws/{body['id']}/run")
    assert ran.status_code == 200 and ran.json()["status"] == "drawn"
    assert sum(ran.json()["projects"]["P1"]["seats_per_site"].values()) == 4
    again = client.post(f"/api/draws/{body['id']}/run")
    assert again.status_code == 409 and "draw_id" in again.text
    # A drawn project is not drawn again: its seats change only by replacement (R1).
    twice = client.post("/api/draws", json={"project_codes": ["P1"], "seed": "beef"})
    assert twice.status_code == 409 and "P1" in twice.text


def test_replacement_by_expert_code_opens_at_the_start(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from config import clock
    from tests.api_support import AFTER_START

    draw = client.post("/api/draws", json={"project_codes": ["P1"], "seed": "abcd"}).json()["id"]
    url = f"/api/draws/{draw}/replacements"
    # Before the start a member and a stranger get the same answer: no oracle of who sits (D5).
    answers = {client.post(url, json={"project_code": "P1", "expert_code": e, "reason": "declined"}).text
               for e in ("E01", "E02", "E03", "E04", "E05", "E99")}
    assert len(answers) == 1 and "expert_code" in answers.pop()
    monkeypatch.setattr(clock, "now", lambda: AFTER_START)
    seats = client.post(f"/api/draws/{draw}/reveal").json()["projects"][0]["seats"]
    leaving = seats[0]["expert"]
    r = client.post(url, json={"project_code": "P1", "expert_code": leaving, "reason": "failed_check_in"})
    assert r.status_code == 200 and r.json()["replaced"] == leaving
    stranger = client.post(url, json={"project_code": "P1", "expert_code": "E99", "reason": "declined"})
    assert stranger.status_code == 409 and "expert_code" in stranger.text


@pytest.mark.parametrize(("method", "url", "kwargs", "field"), [
    ("POST", "/api/closures", {"json": {"site_code": "\u0000", "start": "2026-12-01T08:00:00+08:00",
                                        "end": "2026-12-01T09:00:00+08:00"}}, "site_code"),
    ("GET", "/api/projects", {"params": {"status": "a\u0000"}}, "status"),
    ("POST", "/login", {"data": {"username": "co\u0000ord", "password": "x"}}, "username"),
])
def test_nul_characters_are_refused_naming_the_field(client: TestClient, method: str, url: str, kwargs: dict,
                                                     field: str) -> None:
    r = client.request(method, url, **kwargs)
    assert r.status_code == 422 and field in r.text and "NUL" in r.text
