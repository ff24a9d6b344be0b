"""Check-in routes through HTTP (both DBs): a terminal's flow, refusals persisted, room status, reports."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from checkin.models import CheckinAttempt
from config import clock
from evaluation.models import Draw
from tests.api_support import PASSWORD, app_client, bearer
from tests.checkin.checkin_support import ID_NUMBER, IN_WINDOW, START, frame, liveness_passes, need_faces, prepare

pytestmark = need_faces


def _frames(name: str, n: int = 6) -> list[tuple[str, tuple[str, io.BytesIO, str]]]:
    return [("frames", (f"f{i}.jpg", io.BytesIO(frame(name)), "image/jpeg")) for i in range(n)]


def test_terminal_checks_in_and_staff_follow_the_room(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with Session(engine) as session:
        room = prepare(session)
    liveness_passes(monkeypatch)
    with app_client(engine, monkeypatch, load_tiny=False, users=False) as c:
        monkeypatch.setattr(clock, "now", lambda: IN_WINDOW)
        term, sup, coord = (bearer(c, u) for u in ("term_seat", "super", "coord"))
        info = c.get("/api/checkin/terminal", headers=term).json()
        assert info["room_code"] == room.room_code and info["projects"][0]["phase"] == "checkin"

        def challenge() -> str:
            r = c.post("/api/checkin/challenges", json={"id_number": ID_NUMBER}, headers=term)
            assert r.status_code == 201 and r.json()["direction"] in ("left", "right"), r.text
            return str(r.json()["token"])

        bad = c.post("/api/checkin/attempts", headers=term, files=_frames("biden_1.jpg"),
                     data={"token": challenge(), "id_number": ID_NUMBER})
        assert bad.status_code == 422 and bad.json()["detail"][0]["type"] == "checkin.face.no_match"
        assert bad.json()["detail"][0]["loc"] == ["body", "frames"]
        with Session(engine) as s:  # the refused attempt was committed before the error answer
            assert [a.outcome for a in s.exec(select(CheckinAttempt)).all()] == ["checkin.face.no_match"]
        ok = c.post("/api/checkin/attempts", headers=term, files=_frames("obama_3.jpg"),
                    data={"token": challenge(), "id_number": ID_NUMBER})
        assert ok.status_code == 200 and ok.json()["project_code"] == "P1", ok.text
        status = c.get(f"/api/checkin/rooms/{room.room_code}", headers=sup).json()
        assert status["projects"][0]["checked_in"] == 1 and status["projects"][0]["checkins"] == []  # sealed
        assert room.expert not in c.get(f"/api/checkin/rooms/{room.room_code}", headers=sup).text
        # Another room's terminal may not read this room.
        assert c.get("/api/checkin/rooms/AUXA-R1", headers=term).status_code == 404

        during = START + timedelta(hours=1)
        monkeypatch.setattr(clock, "now", lambda: during)
        with Session(engine) as s:
            draw_id = s.exec(select(Draw.id)).one()
        assert c.post(f"/api/draws/{draw_id}/reveal", headers=coord).status_code == 200
        names = c.get(f"/api/checkin/rooms/{room.room_code}", headers=sup).json()["projects"][0]["checkins"]
        assert [n["expert_code"] for n in names] == [room.expert] and names[0]["method"] == "face"
        up = c.post("/api/projects/P1/report", headers=coord,
                    files={"file": ("评标报告.pdf", io.BytesIO(b"%PDF-1.4 final"), "application/pdf")})
        assert up.status_code == 201 and up.json()["version"] == 1, up.text
        got = c.get("/api/projects/P1/report/file", headers=sup)
        assert got.content == b"%PDF-1.4 final" and got.headers["x-report-sha256"] == up.json()["sha256"]
        tok = c.post("/api/checkin/challenges", json={"id_number": ID_NUMBER, "purpose": "signoff"},
                     headers=term).json()["token"]
        signed = c.post("/api/checkin/signoffs", headers=term, files=_frames("obama_3.jpg"),
                        data={"token": tok, "id_number": ID_NUMBER, "report_sha256": up.json()["sha256"]})
        assert signed.status_code == 201, signed.text
        assert c.get("/api/projects/P1/report", headers=sup).json()["signed_off"] == 1


def test_bad_input_names_the_field(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with Session(engine) as session:
        room = prepare(session, enrol=False)
    with app_client(engine, monkeypatch, load_tiny=False, users=False) as c:
        term, sup = bearer(c, "term_seat"), bearer(c, "super")
        r = c.post("/api/checkin/challenges", json={"id_number": "", "purpose": "x"}, headers=term)
        assert r.status_code == 422 and {tuple(d["loc"]) for d in r.json()["detail"]} == {
            ("body", "id_number"), ("body", "purpose")}
        r = c.post("/api/checkin/manual", json={"room_code": room.room_code, "expert_code": room.expert,
                                                "reason": "x"}, headers=sup)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "reason"]
        r = c.post("/api/checkin/attempts", headers=term, data={"token": "t", "id_number": ID_NUMBER},
                   files=_frames("obama_3.jpg", 40))
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "frames"]


def _login(c: object, user: str) -> str:
    page = c.get("/login")  # type: ignore[attr-defined]
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    c.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": token})  # type: ignore[attr-defined]
    return token


def test_the_project_page_uploads_the_report_after_the_start(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        c.post("/api/draws", json={"project_codes": ["P1"], "seed": "5eed"}, headers=bearer(c, "admin"))
        _login(c, "coord")
        assert 'id="upload-report"' not in c.get("/projects/P1").text  # before the start: nothing to sign
        monkeypatch.setattr(clock, "now", lambda: START + timedelta(hours=1))
        page = c.get("/projects/P1").text
        assert 'id="upload-report"' in page
        csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
        r = c.post("/projects/P1/report", data={"csrf_token": csrf}, follow_redirects=False,
                   files={"file": ("report.pdf", io.BytesIO(b"%PDF-1.4 page upload"), "application/pdf")})
        assert r.status_code == 303
        page = c.get("/projects/P1").text
        sha = c.get("/api/projects/P1/report", headers=bearer(c, "coord")).json()["sha256"]
        assert sha in page and 'id="report-signed"' in page
        # Without the CSRF token nothing is stored.
        c.post("/projects/P1/report", files={"file": ("x.pdf", io.BytesIO(b"forged"), "application/pdf")})
        assert c.get("/api/projects/P1/report", headers=bearer(c, "coord")).json()["version"] == 1
        # A supervisor sees the report but no upload form.
        c.cookies.clear()
        _login(c, "super")
        page = c.get("/projects/P1").text
        assert sha in page and 'id="upload-report"' not in page
