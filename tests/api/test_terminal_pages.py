"""The check-in kiosk (/terminal) and the room check-in page (/checkin/rooms/{code}) through TestClient."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from config import clock
from evaluation import service as draw_service
from evaluation.commitments import draw_result
from evaluation.models import Draw
from experts.models import Expert
from tests.api.test_pages import csrf_of, denials, login
from tests.api_support import AFTER_START, app_client
from venues.models import Room

# 08:30 local on the tiny day: P1 (09:00) is open for check-in.
IN_CHECKIN_WINDOW = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)


def seat_in_main_r1(session: Session) -> str:
    """Draw P1 so that one of its seats is in room MAIN-R1 (term1's room); the code of that seat's expert.

    The draw seats each site's experts in the smallest room that fits, which for P1 is MAIN-R2: that
    room is closed (no seats) first so the main site's seat lands in MAIN-R1.
    """
    small = session.exec(select(Room).where(Room.code == "MAIN-R2")).one()
    small.seats = 0
    session.add(small)
    session.commit()
    row = draw_service.draw(session, project_codes=["P1"], seed_hex="5eed")
    session.commit()
    seats = draw_result(row)["projects"][0]["seats"]
    return str(next(s["expert"] for s in seats if s["room"] == "MAIN-R1"))


def _drawn(engine: Engine) -> str:
    with Session(engine) as s:
        return seat_in_main_r1(s)


def test_anonymous_visitors_are_sent_to_login(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        for url in ("/terminal", "/checkin/rooms/MAIN-R1"):
            r = client.get(url, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2F"), url


def test_a_terminal_lands_on_its_kiosk_after_login(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        r = login(client, "term1", next_="/calendar")
        assert r.status_code == 303 and r.headers["location"] == "/terminal"
        # Logged in, the login form sends it on to the kiosk too; a language choice survives.
        assert client.get("/login", follow_redirects=False).headers["location"] == "/terminal"
        r = client.get("/login?next=%2Fterminal%3Flang%3Den", follow_redirects=False)
        assert r.headers["location"] == "/terminal?lang=en"
        client.cookies.clear()  # others still go where they asked
        assert login(client, "super", next_="/calendar").headers["location"] == "/calendar"


def test_the_kiosk_renders_in_both_languages(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        expert = _drawn(engine)
        monkeypatch.setattr(clock, "now", lambda: IN_CHECKIN_WINDOW)
        login(client, "term1")
        page = client.get("/terminal")
        assert page.status_code == 200
        html = page.text
        assert "评标室 MAIN-R1 签到" in html and "签到中" in html and "评标报告签署" in html
        assert re.search(r'<input id="id-number"[^>]*autofocus', html)
        assert '<li data-project="P1">' in html and "已签到 0/1" in html
        assert _script_messages(html)["terminal.turn.left"] == "请缓慢向左转头"
        assert expert not in html  # a kiosk names nobody before they check in
        english = client.get("/terminal?lang=en").text
        assert "Check-in, room MAIN-R1" in english and "check-in open" in english
        assert _script_messages(english)["terminal.turn.left"] == "Slowly turn your head to your left"


def test_the_kiosk_shows_the_report_hash_in_groups_while_evaluating(engine: Engine,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        _drawn(engine)
        monkeypatch.setattr(clock, "now", lambda: AFTER_START)
        login(client, "coord")
        report = {"file": ("report.pdf", b"%PDF-1.4 the report", "application/pdf")}
        up = client.post("/api/projects/P1/report", files=report, headers={"X-CSRF-Token": _csrf(client)})
        assert up.status_code == 201, up.text
        digest = up.json()["sha256"]
        client.cookies.clear()
        login(client, "term1")
        html = client.get("/terminal").text
        assert "评标中" in html
        groups = re.findall(r"<span>([0-9a-f]{4})</span>", html)
        assert "".join(groups) == digest and len(groups) == 16


def _script_messages(html: str) -> dict[str, str]:
    """The messages the kiosk's script gets, from the page's JSON block."""
    found = re.search(r'<script type="application/json" id="terminal-messages">(.*?)</script>', html, re.S)
    assert found is not None
    return dict(json.loads(found.group(1)))


def _csrf(client: TestClient) -> str:
    """The session's CSRF token, as a page carries it."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/calendar").text)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize("username", ["admin", "coord", "super", "expert1"])
def test_only_terminals_open_the_kiosk(engine: Engine, monkeypatch: pytest.MonkeyPatch, username: str) -> None:
    with app_client(engine, monkeypatch) as client:
        login(client, username)
        r = client.get("/terminal")
        assert r.status_code == 403 and "无权访问" in r.text
        assert [(d.subject, d.actor) for d in denials(engine)] == [("GET /terminal", f"user:{username}")]


@pytest.mark.parametrize(("username", "manual"), [("super", True), ("admin", True), ("coord", False)])
def test_the_room_page_for_scoped_staff(engine: Engine, monkeypatch: pytest.MonkeyPatch, username: str,
                                        manual: bool) -> None:
    with app_client(engine, monkeypatch) as client:
        _drawn(engine)
        monkeypatch.setattr(clock, "now", lambda: IN_CHECKIN_WINDOW)
        login(client, username)
        page = client.get("/checkin/rooms/MAIN-R1")
        assert page.status_code == 200
        html = page.text
        assert "评标室 MAIN-R1 签到情况" in html and 'data-project="P1"' in html
        assert '<td data-count="seats">1</td>' in html and '<td data-count="checked_in">0</td>' in html
        assert ('id="manual-form"' in html) is manual
        english = client.get("/checkin/rooms/MAIN-R1?lang=en").text
        assert "Check-in, room MAIN-R1" in english and "Checked in" in english


def test_a_manual_check_in_shows_on_the_room_page_with_names_after_the_start(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        expert = _drawn(engine)
        with Session(engine) as s:  # before the start a supervisor checks in by the card's ID number
            row = s.exec(select(Expert).where(Expert.code == expert)).one()
            row.id_number = "370102198001010044"
            s.add(row)
            s.commit()
        monkeypatch.setattr(clock, "now", lambda: IN_CHECKIN_WINDOW)
        login(client, "super")
        r = client.post("/api/checkin/manual", json={"room_code": "MAIN-R1", "expert_code": expert,
                                                    "reason": "camera broken"},
                        headers={"X-CSRF-Token": _csrf(client)})
        assert r.status_code == 422 and r.json()["detail"][0]["type"] == "checkin.manual_code_sealed"
        r = client.post("/api/checkin/manual", json={"room_code": "MAIN-R1", "id_number": "370102198001010044",
                                                    "reason": "camera broken"},
                        headers={"X-CSRF-Token": _csrf(client)})
        assert r.status_code == 201, r.text
        html = client.get("/checkin/rooms/MAIN-R1").text
        assert '<td data-count="checked_in">1</td>' in html
        assert f">{expert} " not in html and "camera broken" not in html  # sealed before the start (D5)
        monkeypatch.setattr(clock, "now", lambda: AFTER_START)
        with Session(engine) as s:
            draw = s.exec(select(Draw)).one()
            assert draw.id is not None
            draw_service.reveal(s, draw_id=draw.id, now=AFTER_START, actor="test")
            s.commit()
        html = client.get("/checkin/rooms/MAIN-R1").text
        assert f"<td>{expert} " in html and "camera broken" in html and "人工签到" in html


@pytest.mark.parametrize("username", ["super_off", "coord_off"])
def test_out_of_scope_rooms_are_hidden_and_ledgered(engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                                     username: str) -> None:
    with app_client(engine, monkeypatch) as client:
        login(client, username)
        before = len(denials(engine))
        r = client.get("/checkin/rooms/MAIN-R1")
        assert r.status_code == 404 and "未找到" in r.text
        assert len(denials(engine)) == before + 1
        assert client.get("/checkin/rooms/NO-SUCH-ROOM").status_code == 404


@pytest.mark.parametrize("username", ["term1", "expert1"])
def test_terminals_and_experts_are_refused_the_room_page(engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                                          username: str) -> None:
    with app_client(engine, monkeypatch) as client:
        login(client, username)
        assert client.get("/checkin/rooms/MAIN-R1").status_code == 403


def test_the_manual_form_works_without_javascript(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        expert = _drawn(engine)
        # After the start an expert code is accepted (before it, only the card's ID number).
        monkeypatch.setattr(clock, "now", lambda: AFTER_START)
        login(client, "super")
        page = client.get("/checkin/rooms/MAIN-R1")
        token = csrf_of(page.text)
        url = "/checkin/rooms/MAIN-R1/manual"
        assert client.post(url, data={"expert_code": expert, "reason": "camera broken"}).status_code == 403
        short = client.post(url, data={"expert_code": expert, "reason": "no", "csrf_token": token})
        assert short.status_code == 422 and "reason" in short.text
        unknown = client.post(url, data={"expert_code": "E99", "reason": "camera broken", "csrf_token": token})
        assert unknown.status_code == 404 and 'class="alert"' in unknown.text
        r = client.post(url, data={"expert_code": expert, "reason": "camera broken", "csrf_token": token},
                        follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/checkin/rooms/MAIN-R1#manual"
        html = client.get("/checkin/rooms/MAIN-R1").text
        assert f"已人工签到：{expert}，项目 P1" in html
        assert '<td data-count="checked_in">1</td>' in html
        assert "已人工签到" not in client.get("/checkin/rooms/MAIN-R1").text  # the notice shows once


def test_coordinators_cannot_check_in_by_hand(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        expert = _drawn(engine)
        monkeypatch.setattr(clock, "now", lambda: IN_CHECKIN_WINDOW)
        login(client, "coord")
        token = csrf_of(client.get("/calendar").text)
        r = client.post("/checkin/rooms/MAIN-R1/manual",
                        data={"expert_code": expert, "reason": "camera broken", "csrf_token": token})
        assert r.status_code == 403
        assert '<td data-count="checked_in">0</td>' in client.get("/checkin/rooms/MAIN-R1").text


def test_every_message_the_scripts_show_exists_in_both_languages() -> None:
    from api import i18n
    from api.pages.terminal import ROOM_SCRIPT_KEYS, TERMINAL_SCRIPT_KEYS

    keys = (*TERMINAL_SCRIPT_KEYS, *ROOM_SCRIPT_KEYS)
    missing = [(lang, k) for lang in i18n.LANGUAGES for k in keys if k not in i18n.messages(lang)]
    assert missing == []
