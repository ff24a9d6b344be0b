"""The console pages through TestClient: login, language, CSRF, scope and the sealed draw (D5)."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from config import clock
from evaluation import service
from evaluation.models import Draw
from ledger.models import LedgerEntry
from tests.api_support import AFTER_START, PASSWORD, app_client

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
EXPERT_CODE = re.compile(r"\bE(0[1-9]|1[0-5])\b")


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = CSRF.search(html)
    assert found is not None, "page has no CSRF field"
    return found.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD, next_: str = "/") -> httpx.Response:
    """Log in through the form (fetching its CSRF token first)."""
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                       "next": next_}, follow_redirects=False)


def shown(html: str) -> str:
    """The page without its CSRF tokens (random text that could contain anything)."""
    return CSRF.sub("", html)


def denials(engine: Engine) -> list[LedgerEntry]:
    """The ledger's refusal entries."""
    with Session(engine) as s:
        return list(s.exec(select(LedgerEntry).where(LedgerEntry.kind == "auth.denied")).all())


def test_anonymous_is_sent_to_login_and_login_sets_the_cookie(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        r = client.get("/calendar?month=2026-11", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fcalendar%3Fmonth%3D2026-11"
        r = login(client, "coord", next_="/calendar?month=2026-11")
        assert r.status_code == 303 and r.headers["location"] == "/calendar?month=2026-11"
        assert "yidi_session" in r.cookies or "yidi_session" in client.cookies
        page = client.get("/calendar?month=2026-11")
        assert page.status_code == 200
        assert "2026年11月" in page.text and 'href="/projects/P1"' in page.text
        assert "nav.users" not in page.text and "/users" not in page.text  # the coordinator's nav has no users


def test_login_refuses_an_outside_redirect(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        r = login(client, "coord", next_="//evil.example/")
        assert r.status_code == 303 and r.headers["location"] == "/"


def test_pages_render_in_chinese_and_english(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        login(client, "admin")
        zh = client.get("/projects/P1")
        assert zh.status_code == 200 and "专家抽取" in zh.text and 'lang="zh-CN"' in zh.text
        en = client.get("/projects/P1?lang=en")
        assert en.status_code == 200 and "Expert draw" in en.text and "专家抽取" not in en.text
        assert en.cookies.get("lang") == "en" or client.cookies.get("lang") == "en"
        # The cookie keeps the choice on the next page.
        assert "Evaluations in November 2026" in client.get("/calendar?month=2026-11").text
        for path in ("/stats", "/rooms/day?site=MAIN&date=2026-11-23"):
            assert client.get(path).status_code == 200, path
        assert "用户" in client.get("/calendar?lang=zh").text  # the admin's nav shows users, back in Chinese


def test_failed_and_locked_logins_read_alike(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        r = login(client, "coord", password="wrong-password")
        assert r.status_code == 401 and "用户名或密码错误" in r.text
        for _ in range(6):
            r = login(client, "super", password="wrong-password")
        # Even the right password is refused while locked, with the same words as a wrong one, so that
        # a lockout does not confirm that the name exists.
        r = login(client, "super")
        assert r.status_code == 401 and "用户名或密码错误" in r.text and "锁定" not in r.text


def test_forms_without_the_csrf_token_are_refused(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        r = client.post("/login", data={"username": "coord", "password": PASSWORD})
        assert r.status_code == 403
        login(client, "coord")
        before = len(denials(engine))
        r = client.post("/projects/P1/draws", data={"csrf_token": "forged"}, follow_redirects=False)
        assert r.status_code == 403 and "表单" in r.text
        with Session(engine) as s:
            assert s.exec(select(Draw)).first() is None
        assert len(denials(engine)) == before + 1
        r = client.post("/logout", data={}, follow_redirects=False)
        assert r.status_code == 403
        assert client.get("/calendar", follow_redirects=False).status_code == 200  # still logged in


def test_out_of_scope_project_is_hidden(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        login(client, "coord_off")
        page = client.get("/calendar?month=2026-11")
        assert page.status_code == 200 and "P1" not in shown(page.text)
        before = len(denials(engine))
        r = client.get("/projects/P1")
        assert r.status_code == 404 and "tiny road works" not in r.text
        assert len(denials(engine)) == before + 1
        token = csrf_of(page.text)
        r = client.post("/projects/P1/draws", data={"csrf_token": token})
        assert r.status_code == 404
        with Session(engine) as s:
            assert s.exec(select(Draw)).first() is None


def test_roles_outside_the_console_and_supervisors_cannot_draw(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        login(client, "expert1")
        assert client.get("/calendar").status_code == 403
        other = TestClient(client.app)
        login(other, "super")
        token = csrf_of(other.get("/projects/P1").text)
        assert 'id="prepare-draw"' not in other.get("/projects/P1").text
        assert other.post("/projects/P1/draws", data={"csrf_token": token}).status_code == 403
        with Session(engine) as s:
            assert s.exec(select(Draw)).first() is None


def test_bad_month_and_date_are_422(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        login(client, "coord")
        assert client.get("/calendar?month=2026-13").status_code == 422
        assert client.get("/rooms/day?date=23.11.2026").status_code == 422
        assert client.get("/rooms/day?site=NOPE").status_code == 404


def test_draw_is_committed_then_run_sealed_then_unsealed(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        login(client, "coord")
        page = client.get("/projects/P1")
        r = client.post("/projects/P1/draws", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
        assert r.status_code == 303
        with Session(engine) as s:
            row = s.exec(select(Draw)).one()
            assert row.status == "committed"
        page = client.get("/projects/P1")
        assert row.seed_sha256 in page.text and 'id="run-draw"' in page.text and 'id="seat-counts"' not in page.text
        client.post(f"/projects/P1/draws/{row.id}/run", data={"csrf_token": csrf_of(page.text)})
        with Session(engine) as s:
            row = s.exec(select(Draw)).one()
        assert row.status == "drawn"
        page = client.get("/projects/P1")
        assert row.result_sha256 is not None and row.result_sha256 in page.text
        assert 'id="seat-counts"' in page.text and not EXPERT_CODE.search(shown(page.text))
        # Before the start the unsealing is refused and nothing is shown in clear.
        r = client.post(f"/projects/P1/draws/{row.id}/reveal", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 200 and "尚未开始" in r.text and not EXPERT_CODE.search(shown(r.text))
        assert not EXPERT_CODE.search(shown(client.get("/rooms/day?site=MAIN&date=2026-11-23").text))
        monkeypatch.setattr(clock, "now", lambda: AFTER_START)
        page = client.get("/projects/P1")
        assert not EXPERT_CODE.search(shown(page.text))  # still sealed until someone unseals it (ledgered)
        r = client.post(f"/projects/P1/draws/{row.id}/reveal", data={"csrf_token": csrf_of(page.text)})
        assert r.status_code == 200 and 'id="committee"' in r.text
        assert row.id is not None
        with Session(engine) as s:
            result = service.reveal(s, draw_id=row.id, now=AFTER_START)
        drawn = {seat["expert"] for seat in result["projects"][0]["seats"]}
        committee = shown(r.text).split('id="committee"')[1].split("<form")[0]
        assert drawn and {f"E{m.group(1)}" for m in EXPERT_CODE.finditer(committee)} == drawn
        rooms = client.get("/rooms/day?site=MAIN&date=2026-11-23").text
        main_seats = {seat["expert"] for seat in result["projects"][0]["seats"] if seat["site"] == "MAIN"}
        assert all(code in rooms for code in main_seats)
        # Replace one member through the form: the page names both once the evaluation has started.
        leaving = sorted(drawn)[0]
        r = client.post(f"/projects/P1/draws/{row.id}/replacements",
                        data={"csrf_token": csrf_of(r.text), "expert_code": leaving, "reason": "declined"})
        assert r.status_code == 200 and f"已替换：{leaving} → E" in r.text
        committee = shown(r.text).split('id="committee"')[1].split("<form")[0]
        assert leaving not in committee
        r = client.post(f"/projects/P1/draws/{row.id}/replacements",
                        data={"csrf_token": csrf_of(r.text), "expert_code": leaving, "reason": "bored"})
        assert r.status_code == 422 and "reason" in r.text


def test_reference_pages_follow_role_and_scope(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        login(client, "admin")
        assert "MAIN-R1" in client.get("/sites").text
        users = client.get("/users?lang=en").text
        assert "coord_auxa" in users and "AUXA" in users and "coord@example.test" not in users
        experts = client.get("/experts?q=E1").text
        assert "E15" in experts and "E09" not in experts
        auxa = TestClient(client.app)
        login(auxa, "coord_auxa")
        sites = shown(auxa.get("/sites").text)
        assert "AUXA-R1" in sites and "MAIN-R1" not in sites
        before = len(denials(engine))
        assert auxa.get("/users").status_code == 403
        token = csrf_of(auxa.get("/experts").text)
        r = auxa.post("/experts/import", data={"csrf_token": token},
                      files={"file": ("x.csv", b"code,name\n", "text/csv")})
        assert r.status_code == 403  # only centre-wide coordinators change the pool, as in the API
        assert len(denials(engine)) == before + 2
        assert auxa.get("/rooms/day?site=MAIN").status_code == 404


def test_expert_import_form_starts_an_operation(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        login(client, "coord")
        token = csrf_of(client.get("/experts").text)
        csv = (b"code,name,birth_date,region,lat,lon,employer_code,specialties,id_number,email,phone,status\n"
               b"E77,Imported,1975-03-02,370102,36.6,117.1,,A0801,,,,\n")
        r = client.post("/experts/import", data={"csrf_token": token}, files={"file": ("x.csv", csv, "text/csv")},
                        follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/experts?operation=")
        op = r.headers["location"].rsplit("=", 1)[1]
        page = client.get(r.headers["location"])
        assert f'data-operation="{op}"' in page.text
        deadline = time.monotonic() + 60  # generous: the machine is shared; the loop ends as soon as it is done
        status = client.get(f"/api/operations/{op}").json()
        while status["status"] not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.1)
            status = client.get(f"/api/operations/{op}").json()
        assert status["status"] == "done", status
        assert "Imported" in client.get("/experts?q=E77").text
        bad = client.post("/experts/import", data={"csrf_token": token},
                          files={"file": ("x.csv", b"nothing,useful\n1,2\n", "text/csv")})
        assert bad.status_code == 200 and 'class="alert"' in bad.text


def test_statistics_count_the_projects_in_scope(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as client:
        login(client, "coord")
        page = client.get("/stats?group=month&start=2026-11-01&end=2026-12-01&lang=en").text
        assert "1 projects, 0 drawn" in page and "2026-11" in page
        assert client.get("/stats?start=2026-12-01&end=2026-11-01").status_code == 422
        off = TestClient(client.app)
        login(off, "coord_off")
        assert "0 projects" in off.get("/stats?start=2026-11-01&end=2026-12-01&lang=en").text
