"""The day-plan page: list, commit one seed (D3), run as a long operation with progress (both databases)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from evaluation.importer import import_instance
from evaluation.models import Draw, Project, Seat
from tests.api.test_pages import EXPERT_CODE, csrf_of, denials, login, shown
from tests.api_support import app_client
from tests.factories_instance import second_project, tiny_day

DAY = "2026-11-23"
COMMITMENT = re.compile(r'id="commitment">([0-9a-f]{64})<')


def _with_p2(engine: Engine) -> None:
    """Add P2 (main site MAIN, the afternoon of the tiny day) next to P1."""
    inst, _ = tiny_day()
    second_project(inst, start="2026-11-23T15:00:00+08:00", end="2026-11-23T17:00:00+08:00")
    with Session(engine) as s:
        import_instance(s, inst)
        s.commit()


def _seat_count(engine: Engine) -> int:
    with Session(engine) as s:
        return len(s.exec(select(Seat)).all())


def _statuses(engine: Engine) -> dict[str, str]:
    with Session(engine) as s:
        return {p.code: p.status for p in s.exec(select(Project).where(col(Project.code).in_(["P1", "P2"])))}


def _finished(client: TestClient, op: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120  # generous: the machine is shared; the loop ends as soon as it is done
    status: dict[str, Any] = client.get(f"/api/operations/{op}").json()
    while status["status"] not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
        status = client.get(f"/api/operations/{op}").json()
    return status


def _prepare(client: TestClient, codes: list[str]) -> Any:
    token = csrf_of(client.get(f"/dayplan?date={DAY}").text)
    return client.post("/dayplan/prepare", data={"csrf_token": token, "date": DAY, "project": codes},
                       follow_redirects=False)


def test_list_prepare_run_and_poll(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        _with_p2(engine)
        login(client, "coord")
        page = client.get(f"/dayplan?date={DAY}")
        assert page.status_code == 200
        assert 'value="P1" id="pick-1" checked' in page.text and 'value="P2" id="pick-2" checked' in page.text
        assert 'href="/dayplan"' in page.text  # the nav entry
        r = _prepare(client, ["P1", "P2"])
        assert r.status_code == 303 and r.headers["location"].startswith(f"/dayplan?date={DAY}&draw=")
        committed = client.get(r.headers["location"])
        found = COMMITMENT.search(committed.text)
        assert found is not None
        with Session(engine) as s:
            draw = s.exec(select(Draw)).one()
            assert draw.status == "committed" and draw.seed_sha256 == found.group(1)
            assert draw.project_codes == ["P1", "P2"]
        # D3: the commitment is public while nothing has been drawn.
        assert _seat_count(engine) == 0 and _statuses(engine) == {"P1": "planned", "P2": "planned"}
        assert 'href="/projects/P1#draw"' in committed.text and 'href="/projects/P2#draw"' in committed.text
        token = csrf_of(committed.text)
        r = client.post("/dayplan/run", data={"csrf_token": token, "date": DAY, "draw_id": str(draw.id)},
                        follow_redirects=False)
        assert r.status_code == 303 and "&operation=" in r.headers["location"]
        op = r.headers["location"].rsplit("=", 1)[1]
        assert f'data-operation="{op}"' in client.get(r.headers["location"]).text
        status = _finished(client, op)
        assert status["status"] == "done", status
        assert status["done"] == status["total"] == 2
        report = status["report"]
        assert report["drawn"] == 2 and report["infeasible"] == 0
        assert {code: item["status"] for code, item in report["projects"].items()} == {"P1": "drawn", "P2": "drawn"}
        with Session(engine) as s:
            seats = {code: len(s.exec(select(Seat).join(Project).where(Project.code == code)).all())
                     for code in ("P1", "P2")}
        assert {code: item["seats"] for code, item in report["projects"].items()} == seats
        assert _statuses(engine) == {"P1": "drawn", "P2": "drawn"}
        assert EXPERT_CODE.search(str(report)) is None  # counts only, never an expert (D5)
        done = client.get(r.headers["location"])
        assert 'id="dayplan-done"' in done.text and 'href="/projects/P2#draw"' in done.text
        assert EXPERT_CODE.search(shown(done.text)) is None
        # Running twice is refused with a page, never a 500.
        again = client.post("/dayplan/run", data={"csrf_token": token, "date": DAY, "draw_id": str(draw.id)})
        assert again.status_code == 409
        # The drawn projects leave the day's list.
        assert 'name="project"' not in client.get(f"/dayplan?date={DAY}").text


def test_scope_roles_csrf_and_bad_input(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        login(client, "coord_off")
        page = client.get(f"/dayplan?date={DAY}")
        assert page.status_code == 200 and 'id="no-projects"' in page.text and "P1" not in shown(page.text)
        before = len(denials(engine))
        assert _prepare(client, ["P1"]).status_code == 404  # outside the main-site scope, ledgered
        assert len(denials(engine)) == before + 1
        token = csrf_of(page.text)
        for bad in ("2026-13-01", "0001-01-01", "tomorrow"):
            assert client.get(f"/dayplan?date={bad}").status_code == 422, bad
        assert client.post("/dayplan/prepare", data={"csrf_token": token, "date": DAY}).status_code == 422
        auxa = TestClient(client.app)
        login(auxa, "coord_auxa")  # P1 uses AUXA's rooms, but only the main site's staff run it
        assert "P1" not in shown(auxa.get(f"/dayplan?date={DAY}").text)
        supervisor = TestClient(client.app)
        login(supervisor, "super")
        assert supervisor.get(f"/dayplan?date={DAY}").status_code == 403
        assert 'href="/dayplan"' not in supervisor.get("/calendar").text
        coord = TestClient(client.app)
        login(coord, "coord")
        assert coord.post("/dayplan/prepare", data={"date": DAY, "project": ["P1"]}).status_code == 403
        assert coord.post("/dayplan/prepare", data={"csrf_token": "forged", "date": DAY,
                                                   "project": ["P1"]}).status_code == 403
        assert _seat_count(engine) == 0
        with Session(engine) as s:
            assert s.exec(select(Draw)).first() is None  # nothing committed by any refused request
        r = _prepare(coord, ["P1"])
        draw_id = r.headers["location"].rsplit("=", 1)[1]
        # Another coordinator's draw outside their scope is hidden; a supervisor cannot run it.
        assert client.get(f"/dayplan?date={DAY}&draw={draw_id}").status_code == 404
        assert supervisor.post("/dayplan/run", data={"csrf_token": csrf_of(supervisor.get("/calendar").text),
                                                     "date": DAY, "draw_id": draw_id}).status_code == 403
        assert coord.post("/dayplan/run", data={"date": DAY, "draw_id": draw_id}).status_code == 403
        with Session(engine) as s:
            assert s.exec(select(Draw)).one().status == "committed"


def test_a_failing_run_ends_as_a_failed_operation_with_its_message(engine: Engine,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from evaluation import service

    def raced(*_: object, **__: object) -> None:
        # As when another request ran the same draw between the page's check and the worker.
        raise service.DrawStateError("draw has already been run")

    with app_client(engine, monkeypatch) as client:
        login(client, "admin")
        r = _prepare(client, ["P1"])
        page = client.get(r.headers["location"] + "&lang=en")
        assert "Committed projects" in page.text and COMMITMENT.search(page.text) is not None
        draw_id = r.headers["location"].rsplit("=", 1)[1]
        monkeypatch.setattr(service, "run_draw", raced)
        r = client.post("/dayplan/run", data={"csrf_token": csrf_of(page.text), "date": DAY, "draw_id": draw_id},
                        follow_redirects=False)
        status = _finished(client, r.headers["location"].rsplit("=", 1)[1])
        assert status["status"] == "failed" and "already been run" in status["message"]
        shown_page = client.get(r.headers["location"]).text
        assert 'id="dayplan-failed"' in shown_page and "already been run" in shown_page
        assert _seat_count(engine) == 0
