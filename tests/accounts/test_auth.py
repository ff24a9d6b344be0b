"""Access: argon2 hashes, lockout that does not reveal names, token invalidation, CSRF, ledgered logins."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import ledger
from access.models import User
from config.settings import get_settings
from tests.api_support import PASSWORD, app_client, bearer


def _login(c: TestClient, user: str, password: str) -> tuple[int, str]:
    r = c.post("/api/auth/token", data={"username": user, "password": password})
    return r.status_code, r.text


def test_passwords_are_argon2_and_logins_are_ledgered(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        assert _login(c, "coord", PASSWORD)[0] == 200
        assert _login(c, "coord", "wrong-password")[0] == 401
        assert _login(c, "correct-horse-typed-as-name", "x")[0] == 401
        with Session(engine) as s:
            stored = s.exec(select(User.password_hash).where(User.username == "coord")).one()
            kinds = [(e.kind, e.subject) for e in ledger.entries(s, kind_prefix="auth.")]
            text = "".join(e.payload + e.subject for e in ledger.entries(s))
        assert stored.startswith("$argon2id$") and PASSWORD not in stored
        assert ("auth.login", "user:coord") in kinds and ("auth.login_failed", "user:coord") in kinds
        # A name matching no account is kept only as a keyed hash (it may be a mistyped password).
        assert "correct-horse-typed-as-name" not in text and PASSWORD not in text


def test_lockout_reads_like_a_wrong_password(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        for _ in range(get_settings().login_max_failures):
            assert _login(c, "coord_off", "wrong-password")[0] == 401
        locked = _login(c, "coord_off", PASSWORD)
        unknown = _login(c, "nobody-here", "wrong-password")
        assert locked[0] == unknown[0] == 401 and locked[1] == unknown[1]


def test_password_change_and_deactivation_end_tokens(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        admin, old = bearer(c, "admin"), bearer(c, "super")
        assert c.get("/api/auth/me", headers=old).status_code == 200
        assert c.patch("/api/users/super", json={"password": "another-long-password"}, headers=admin).status_code == 200
        assert c.get("/api/auth/me", headers=old).status_code == 401
        new = bearer(c, "super", "another-long-password")
        assert c.patch("/api/users/super", json={"active": False}, headers=admin).status_code == 200
        assert c.get("/api/auth/me", headers=new).status_code == 401
        assert _login(c, "super", "another-long-password")[0] == 401


def test_null_for_a_required_user_field_is_refused_by_name(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the fuzz: {"active": null} reached the NOT NULL column and answered 500."""
    with app_client(engine, monkeypatch) as c:
        admin = bearer(c, "admin")
        for field in ("active", "all_sites", "display_name"):
            r = c.patch("/api/users/super", json={field: None}, headers=admin)
            assert r.status_code == 422 and r.json()["detail"][0]["loc"] == [field], r.text
        assert c.get("/api/auth/me", headers=bearer(c, "super")).status_code == 200


def test_cookie_session_needs_the_csrf_header_for_api_writes(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        page = c.get("/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = c.post("/login", data={"username": "coord", "password": PASSWORD, "csrf_token": token},
                   follow_redirects=False)
        assert r.status_code == 303 and "yidi_session" in c.cookies
        assert c.get("/api/auth/me").json()["username"] == "coord"
        refused = c.post("/api/draws", json={"project_codes": ["P1"]})
        assert refused.status_code == 403 and "CSRF" in refused.text
        home = c.get("/")
        csrf = home.text.split('name="csrf_token" value="')[1].split('"')[0]
        ok = c.post("/api/draws", json={"project_codes": ["P1"]}, headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 201
