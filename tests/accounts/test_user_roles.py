"""Changing a user's role: bindings kept consistent, sessions and tokens ended, last admin kept, ledgered (both DBs)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

import ledger
from access.exceptions import LastAdminError
from access.models import User, UserUpdate
from accounts import service as users
from experts.models import Expert
from tests.api.test_pages import csrf_of, login
from tests.api_support import app_client, bearer
from venues.models import Room


@pytest.fixture
def client(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with app_client(engine, monkeypatch) as c:
        yield c


def _user(engine: Engine, name: str) -> User:
    with Session(engine) as s:
        return s.exec(select(User).where(User.username == name)).one()


def _patch(c: TestClient, name: str, body: dict[str, Any], as_: str = "admin") -> httpx.Response:
    return c.patch(f"/api/users/{name}", json=body, headers=bearer(c, as_))


def _fields(r: httpx.Response) -> list[Any]:
    return [part for d in r.json()["detail"] for part in d["loc"]]


def _updates(engine: Engine, name: str) -> list[dict[str, Any]]:
    with Session(engine) as s:
        return [json.loads(e.payload) | {"actor": e.actor}
                for e in ledger.entries(s, kind_prefix="user.update", subject=f"user:{name}")]


def test_a_role_change_works_and_ends_the_users_tokens_and_sessions(client: TestClient, engine: Engine) -> None:
    token, bystander = bearer(client, "coord"), bearer(client, "super")
    browser = TestClient(client.app)
    assert login(browser, "coord").status_code == 303
    assert browser.get("/api/auth/me").json()["role"] == "coordinator"
    # Saying the same role again changes nothing and ends nothing.
    assert _patch(client, "coord", {"role": "coordinator"}).status_code == 200
    assert client.get("/api/auth/me", headers=token).status_code == 200
    r = _patch(client, "coord", {"role": "supervisor"})
    assert r.status_code == 200 and r.json()["role"] == "supervisor", r.text
    assert client.get("/api/auth/me", headers=token).status_code == 401
    assert browser.get("/api/auth/me").status_code == 401
    assert client.get("/api/auth/me", headers=bystander).status_code == 200
    again = bearer(client, "coord")  # logging in again works, with the new role
    assert client.get("/api/auth/me", headers=again).json()["role"] == "supervisor"
    assert client.post("/api/draws/commitments", json={"project_codes": ["P1"]}, headers=again).status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({"role": "expert"}, "expert_code"),
    ({"role": "terminal"}, "room_code"),
    ({"role": "expert", "expert_code": "NOPE"}, "expert_code"),
    ({"role": "terminal", "room_code": "NOPE"}, "room_code"),
    ({"role": "supervisor", "expert_code": "E01"}, "expert_code"),
    ({"room_code": "MAIN-R1"}, "room_code"),
    ({"role": None}, "role"),
    ({"role": "boss"}, "role"),
])
def test_a_missing_or_wrong_binding_is_422_naming_the_field(client: TestClient, engine: Engine,
                                                            body: dict[str, Any], field: str) -> None:
    token = bearer(client, "coord")
    r = _patch(client, "coord", body)
    assert r.status_code == 422 and field in _fields(r), r.text
    after = _user(engine, "coord")
    assert (after.role, after.expert_id, after.room_id, after.token_version) == ("coordinator", None, None, 0)
    assert client.get("/api/auth/me", headers=token).status_code == 200
    assert _updates(engine, "coord") == []


def test_bindings_are_set_with_the_role_and_cleared_when_leaving_it(client: TestClient, engine: Engine) -> None:
    with Session(engine) as s:
        e02 = s.exec(select(Expert.id).where(Expert.code == "E02")).one()
        e01 = s.exec(select(Expert.id).where(Expert.code == "E01")).one()
        room = s.exec(select(Room.id).where(Room.code == "MAIN-R1")).one()
    assert _patch(client, "coord", {"role": "expert", "expert_code": "E02"}).json()["expert_id"] == e02
    assert (_user(engine, "coord").role, _user(engine, "coord").room_id) == ("expert", None)
    # An expert account may be re-bound without a role change; that ends its sessions as well.
    before = _user(engine, "coord").token_version
    assert _patch(client, "coord", {"expert_code": "E01"}).json()["expert_id"] == e01
    assert _user(engine, "coord").token_version == before + 1
    moved = _patch(client, "coord", {"role": "terminal", "room_code": "MAIN-R1"}).json()
    assert (moved["role"], moved["expert_id"], moved["room_id"]) == ("terminal", None, room)
    back = _patch(client, "coord", {"role": "coordinator"}).json()
    assert (back["role"], back["expert_id"], back["room_id"]) == ("coordinator", None, None)
    expert = _patch(client, "expert1", {"role": "supervisor", "all_sites": True}).json()
    assert (expert["role"], expert["expert_id"], expert["all_sites"]) == ("supervisor", None, True)
    # An edit that is not a role change leaves the binding and the sessions alone.
    token = bearer(client, "term1")
    assert _patch(client, "term1", {"display_name": "Kiosk 1"}).json()["room_id"] == room
    assert client.get("/api/auth/me", headers=token).status_code == 200
    # The former terminal, now a supervisor, is no longer treated as standing in a room.
    assert _patch(client, "term1", {"role": "supervisor"}).json()["room_id"] is None
    assert client.get("/terminal", headers=bearer(client, "term1")).status_code in (401, 403)


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(client: TestClient, engine: Engine) -> None:
    r = _patch(client, "admin", {"role": "coordinator"})
    assert r.status_code == 409 and _fields(r) == ["role"] and "last active admin" in r.json()["detail"][0]["msg"]
    r = _patch(client, "admin", {"active": False})
    assert r.status_code == 409 and _fields(r) == ["active"]
    assert (_user(engine, "admin").role, _user(engine, "admin").active) == ("admin", True)
    # An inactive admin does not count as the other admin.
    assert _patch(client, "super", {"role": "admin", "active": False}).status_code == 200
    assert _patch(client, "admin", {"role": "coordinator"}).status_code == 409
    # With a second active admin, the first may step down (ending its own token), and the second is then last.
    assert _patch(client, "coord", {"role": "admin"}).status_code == 200
    assert _patch(client, "admin", {"role": "coordinator"}).status_code == 200
    assert _user(engine, "admin").role == "coordinator"
    r = _patch(client, "coord", {"role": "supervisor"}, as_="coord")
    assert r.status_code == 409 and "coord is the last active admin" in r.json()["detail"][0]["msg"]


@pytest.mark.parametrize("caller", ["coord", "super", "expert1", "term1"])
def test_non_admins_get_403(client: TestClient, engine: Engine, caller: str) -> None:
    r = _patch(client, "coord_off", {"role": "admin"}, as_=caller)
    assert r.status_code == 403 and _fields(r) == ["authorization"]
    r = _patch(client, caller, {"role": "admin"}, as_=caller)
    assert r.status_code == 403
    assert _user(engine, "coord_off").role == "coordinator" and _user(engine, caller).role != "admin"


def test_a_role_change_is_ledgered(client: TestClient, engine: Engine) -> None:
    assert _patch(client, "expert1", {"role": "coordinator", "site_codes": ["MAIN"]}).status_code == 200
    [entry] = _updates(engine, "expert1")
    assert entry == {"fields": ["role", "site_codes"], "role_from": "expert", "role_to": "coordinator",
                     "sessions_ended": True, "actor": "user:admin"}
    assert _patch(client, "expert1", {"display_name": "Z"}).status_code == 200
    assert "role_from" not in _updates(engine, "expert1")[-1]


def test_the_console_form_changes_a_role(client: TestClient, engine: Engine) -> None:
    login(client, "admin")
    page = client.get("/users")
    assert 'action="/users/coord/role"' in page.text

    def post(name: str, data: dict[str, str]) -> httpx.Response:
        token = csrf_of(client.get("/users").text)
        return client.post(f"/users/{name}/role", data={**data, "csrf_token": token}, follow_redirects=False)

    bad = post("coord", {"role": "expert", "expert_code": "", "room_code": ""})
    assert bad.status_code == 422 and "expert_code" in bad.text and _user(engine, "coord").role == "coordinator"
    assert post("coord", {"role": "expert", "expert_code": "E03", "room_code": ""}).status_code == 303
    assert _user(engine, "coord").role == "expert" and _user(engine, "coord").token_version == 1
    last = post("admin", {"role": "supervisor"})
    assert last.status_code == 409 and "last active admin" in last.text and _user(engine, "admin").role == "admin"
    other = TestClient(client.app)
    login(other, "super")
    token = csrf_of(other.get("/calendar").text)
    refused = other.post("/users/super/role", data={"role": "admin", "csrf_token": token}, follow_redirects=False)
    assert refused.status_code == 403 and _user(engine, "super").role == "supervisor"


def test_two_admins_demoting_each_other_at_once_leave_one_admin(client: TestClient, engine: Engine) -> None:
    assert _patch(client, "coord", {"role": "admin"}).status_code == 200
    first_written, outcomes = threading.Event(), {}

    def demote(name: str, actor: str, *, wait: bool) -> None:
        with Session(engine) as s:
            try:
                if wait:
                    assert first_written.wait(30)
                users.update_user(s, username=name, data=UserUpdate(role="supervisor"), actor=actor)
                if not wait:
                    first_written.set()
                    time.sleep(0.5)  # hold the transaction open while the other demotion starts
                s.commit()
                outcomes[name] = "demoted"
            except (LastAdminError, OperationalError) as exc:  # SQLite may refuse the second writer
                s.rollback()
                outcomes[name] = type(exc).__name__
            finally:
                first_written.set()

    threads = [threading.Thread(target=demote, args=("admin", "user:coord"), kwargs={"wait": False}),
               threading.Thread(target=demote, args=("coord", "user:admin"), kwargs={"wait": True})]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert outcomes["admin"] == "demoted" and outcomes["coord"] in ("LastAdminError", "OperationalError"), outcomes
    with Session(engine) as s:
        assert s.exec(select(User.username).where(User.role == "admin", User.active == True)).all() == ["coord"]  # noqa: E712
