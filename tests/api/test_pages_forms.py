"""The console's write forms through TestClient: projects, notifications, bid opening, closures, venues, users."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from access.models import User
from evaluation.models import Draw, Project
from experts.models import Expert
from tests.api.test_pages import EXPERT_CODE, csrf_of, login, shown
from tests.api_support import app_client
from venues.models import Closure, Room, Site

NEW_PROJECT = {"code": "P3", "name": "bridge", "procedure": "engineering_tender", "budget": "1000000",
               "region": "370114", "tenderer_code": "TEND", "agent_code": "AGENT", "supervisor_org_codes": "SUP",
               "start": "2026-11-25T09:00", "end": "2026-11-25T12:00", "size": "5", "representatives": "1",
               "main_site_code": "MAIN", "aux_mode": "random", "need_specialty": ["A08", "A06"],
               "need_count": ["3", "1"]}


def _post(client: TestClient, page: str, action: str, data: dict[str, object]) -> object:
    return client.post(action, data={**data, "csrf_token": csrf_of(client.get(page).text)}, follow_redirects=False)


def _project(engine: Engine, code: str) -> Project | None:
    with Session(engine) as s:
        return s.exec(select(Project).where(Project.code == code)).first()


def test_project_form_creates_edits_and_cancels(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        login(client, "coord")
        assert 'href="/projects/new"' in client.get("/calendar").text
        bad = _post(client, "/projects/new", "/projects/new", {**NEW_PROJECT, "region": "37x", "size": "many"})
        assert bad.status_code == 422 and "region" in bad.text and "size" in bad.text  # type: ignore[attr-defined]
        assert _project(engine, "P3") is None
        bad = _post(client, "/projects/new", "/projects/new", {**NEW_PROJECT, "tenderer_code": "NOBODY"})
        assert bad.status_code == 422 and "tenderer_code" in bad.text  # type: ignore[attr-defined]
        r = _post(client, "/projects/new", "/projects/new", NEW_PROJECT)
        assert r.status_code == 303 and r.headers["location"] == "/projects/P3"  # type: ignore[attr-defined]
        project = _project(engine, "P3")
        assert project is not None and project.aux_mode == "random" and project.size == 5
        again = _post(client, "/projects/new", "/projects/new", NEW_PROJECT)
        assert again.status_code == 409  # type: ignore[attr-defined]
        edit = client.get("/projects/P3/edit").text
        assert 'value="2026-11-25T09:00"' in edit
        r = _post(client, "/projects/P3/edit", "/projects/P3/edit",
                  {**NEW_PROJECT, "name": "bigger bridge", "end": "2026-11-25T08:00"})
        assert r.status_code == 422 and "end" in r.text  # type: ignore[attr-defined]
        r = _post(client, "/projects/P3/edit", "/projects/P3/edit", {**NEW_PROJECT, "name": "bigger bridge"})
        assert r.status_code == 303  # type: ignore[attr-defined]
        assert _project(engine, "P3").name == "bigger bridge"  # type: ignore[union-attr]
        r = _post(client, "/projects/P3", "/projects/P3/cancel", {})
        assert r.status_code == 303 and _project(engine, "P3").status == "cancelled"  # type: ignore[union-attr, attr-defined]


def test_project_writes_follow_role_and_scope(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        login(client, "coord_auxa")
        r = _post(client, "/calendar", "/projects/new", NEW_PROJECT)
        assert r.status_code == 404 and _project(engine, "P3") is None  # type: ignore[attr-defined]
        assert client.get("/projects/P1/edit").status_code == 404  # P1's main site MAIN is not theirs
        assert _post(client, "/calendar", "/projects/P1/cancel", {}).status_code == 404  # type: ignore[attr-defined]
        other = TestClient(client.app)
        login(other, "super")
        assert other.get("/projects/new").status_code == 403
        assert other.post("/projects/new", data={**NEW_PROJECT, "csrf_token": "x"}).status_code == 403
        assert _project(engine, "P1").status == "planned"  # type: ignore[union-attr]


class Outbox:
    """A channel that keeps what it is asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, address: str, subject: str, body: str) -> None:
        """Keep the message."""
        self.sent.append((address, subject, body))


def test_run_notifies_send_now_and_bid_opening(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    outbox = Outbox()
    monkeypatch.setattr("notify.service.channel_for", lambda name, settings: outbox)
    with app_client(engine, monkeypatch) as client:
        with Session(engine) as s:
            for e in s.exec(select(Expert)).all():
                e.email = f"{e.code.lower()}@experts.test"
                s.add(e)
            s.commit()
        login(client, "coord")
        _post(client, "/projects/P1", "/projects/P1/draws", {})
        with Session(engine) as s:
            draw_id = s.exec(select(Draw)).one().id
        _post(client, "/projects/P1", f"/projects/P1/draws/{draw_id}/run", {})
        page = client.get("/projects/P1").text
        assert re.search(r'data-status="pending">4<', page) and not EXPERT_CODE.search(shown(page))
        r = _post(client, "/projects/P1", f"/projects/P1/draws/{draw_id}/notify", {})
        assert r.status_code == 303 and len(outbox.sent) == 4  # type: ignore[attr-defined]
        page = client.get("/projects/P1").text
        assert re.search(r'data-status="sent">4<', page) and not EXPERT_CODE.search(shown(page))
        _post(client, "/projects/P1", f"/projects/P1/draws/{draw_id}/notify", {})
        assert len(outbox.sent) == 4  # nothing is sent twice
        r = _post(client, "/projects/P1", "/projects/P1/bidders", {"bidder_codes": "BID1, NOPE"})
        page = client.get("/projects/P1").text
        assert "bidder_codes" in page and 'id="bids-report"' not in page
        _post(client, "/projects/P1", "/projects/P1/bidders", {"bidder_codes": "BID1，BID2"})
        page = client.get("/projects/P1?lang=en").text
        assert "2 bidders" in page and not EXPERT_CODE.search(shown(page))
        super_client = TestClient(client.app)
        login(super_client, "super")
        assert 'id="send-now"' not in super_client.get("/projects/P1").text
        token = csrf_of(super_client.get("/projects/P1").text)
        assert super_client.post(f"/projects/P1/draws/{draw_id}/notify", data={"csrf_token": token}).status_code == 403


def test_closures_create_replan_and_reopen(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        login(client, "coord")
        _post(client, "/projects/P1", "/projects/P1/draws", {})
        with Session(engine) as s:
            draw_id = s.exec(select(Draw)).one().id
        _post(client, "/projects/P1", f"/projects/P1/draws/{draw_id}/run", {})
        window = {"site_code": "AUXA", "room_code": "", "start": "2026-11-23T08:00", "end": "2026-11-23T13:00",
                  "reason": "epidemic"}
        bad = _post(client, "/closures", "/closures", {**window, "end": "2026-11-23T07:00"})
        assert bad.status_code == 422 and "end" in bad.text  # type: ignore[attr-defined]
        bad = _post(client, "/closures", "/closures", {**window, "room_code": "MAIN-R1"})
        assert bad.status_code == 422  # type: ignore[attr-defined]
        # The service's reason in the page's language, naming the field (Chinese by default).
        assert "room_code: 评标室 MAIN-R1 不属于场地 AUXA" in bad.text  # type: ignore[attr-defined]
        assert "is not a room of site" not in bad.text  # type: ignore[attr-defined]
        bad = _post(client, "/closures?lang=en", "/closures", {**window, "room_code": "MAIN-R1"})
        assert "room_code: room MAIN-R1 is not a room of site AUXA" in bad.text  # type: ignore[attr-defined]
        client.get("/closures?lang=zh")
        bad = _post(client, "/closures", "/closures", {**window, "start": "next tuesday"})
        assert "start: 应为日期和时间" in bad.text  # type: ignore[attr-defined]
        # The room list groups the rooms under their site (the script then offers only the chosen site's).
        form = client.get("/closures").text.split('id="closure-form"')[1]
        main_group = form.split('data-site="MAIN"')[1].split("</optgroup>")[0]
        aux_group = form.split('data-site="AUXA"')[1].split("</optgroup>")[0]
        assert 'value="MAIN-R1"' in main_group and 'value="MAIN-R1"' not in aux_group
        assert _post(client, "/closures", "/closures", window).status_code == 303  # type: ignore[attr-defined]
        with Session(engine) as s:
            closure = s.exec(select(Closure)).one()
        assert "epidemic" in client.get("/closures").text
        report = _post(client, "/closures", f"/closures/{closure.id}/replan", {})
        assert report.status_code == 200 and 'id="replan-report"' in report.text  # type: ignore[attr-defined]
        with Session(engine) as s:
            project = s.exec(select(Project).where(Project.code == "P1")).one()
            replanned = project.aux_mode == "fixed"
        assert ("P1" in shown(report.text).split('id="replan-report"')[1].split("</div>")[0]) == replanned  # type: ignore[attr-defined]
        assert not EXPERT_CODE.search(shown(report.text))  # type: ignore[attr-defined]
        off = TestClient(client.app)
        login(off, "coord_off")
        assert f"/closures/{closure.id}/" not in off.get("/closures").text
        assert _post(off, "/closures", f"/closures/{closure.id}/delete", {}).status_code == 404  # type: ignore[attr-defined]
        assert _post(client, "/closures", f"/closures/{closure.id}/delete", {}).status_code == 303  # type: ignore[attr-defined]
        with Session(engine) as s:
            assert s.exec(select(Closure)).first() is None


def test_sites_rooms_and_users_forms(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        login(client, "admin")
        site = {"code": "NEWS", "name": "new site", "region": "370102", "lat": "36.6", "lon": "117.1",
                "kind": "partner", "active": "1"}
        bad = _post(client, "/sites/new", "/sites/new", {**site, "lat": "north"})
        assert bad.status_code == 422 and "lat" in bad.text  # type: ignore[attr-defined]
        assert _post(client, "/sites/new", "/sites/new", site).status_code == 303  # type: ignore[attr-defined]
        room = {"room_code": "NEWS-R1", "seats": "8", "opens_at": "08:00", "closes_at": "18:00"}
        bad = _post(client, "/sites/NEWS/edit", "/sites/NEWS/rooms", {**room, "closes_at": "07:00"})
        assert bad.status_code == 422  # type: ignore[attr-defined]
        assert _post(client, "/sites/NEWS/edit", "/sites/NEWS/rooms", room).status_code == 303  # type: ignore[attr-defined]
        _post(client, "/sites/NEWS/edit", "/rooms/NEWS-R1/edit", {"seats": "10", "opens_at": "", "closes_at": ""})
        _post(client, "/sites/NEWS/edit", "/sites/NEWS/edit", {**site, "active": ""})
        with Session(engine) as s:
            r = s.exec(select(Room).where(Room.code == "NEWS-R1")).one()
            assert r.seats == 10 and r.opens_at is None
            assert s.exec(select(Site).where(Site.code == "NEWS")).one().active is False
        user = {"username": "coord_news", "role": "coordinator", "site_codes": "NEWS", "password": "short"}
        bad = _post(client, "/users", "/users", user)
        assert bad.status_code == 422 and "password" in bad.text and "short" not in shown(bad.text)  # type: ignore[attr-defined]
        assert _post(client, "/users", "/users", {**user, "password": "long-enough-pass"}).status_code == 303  # type: ignore[attr-defined]
        _post(client, "/users", "/users/coord_news/edit", {"active": "", "site_codes": "NEWS, AUXA"})
        _post(client, "/users", "/users/coord_news/password", {"password": "another-long-pass"})
        with Session(engine) as s:
            u = s.exec(select(User).where(User.username == "coord_news")).one()
            assert u.active is False and u.token_version >= 2
        auxa = TestClient(client.app)
        login(auxa, "coord_auxa")
        assert auxa.get("/sites/new").status_code == 403
        assert auxa.get("/sites/MAIN/edit").status_code == 404
        assert _post(auxa, "/calendar", "/users", {**user, "password": "long-enough-pass"}).status_code == 403  # type: ignore[attr-defined]
