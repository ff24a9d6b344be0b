"""Shared set-up for route tests: an app on the test engine, the tiny day loaded, one user per role.

Users (password PASSWORD for all): `admin` (all sites), `coord` (coordinator, all sites),
`coord_auxa` (coordinator scoped to site AUXA only), `coord_off` (coordinator scoped to site OFF,
where no project of the tiny day sits), `super` (supervisor, all sites), `super_off` (supervisor,
site OFF), `expert1` (expert E01), `term1` (terminal in room MAIN-R1).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from access.models import UserCreate
from accounts.service import create_user
from api.migrate import stamp
from config import clock, db
from evaluation.importer import import_instance
from tests.factories_instance import tiny_day

PASSWORD = "correct-horse-battery"
# The tiny day's evaluation starts 2026-11-23T09:00+08:00; route tests run the clock before it.
BEFORE_START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
AFTER_START = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
USERS: dict[str, dict[str, object]] = {
    "admin": {"role": "admin", "all_sites": True},
    "coord": {"role": "coordinator", "all_sites": True, "email": "coord@example.test"},
    "coord_auxa": {"role": "coordinator", "site_codes": ["AUXA"]},
    "coord_off": {"role": "coordinator", "site_codes": ["OFF"]},
    "super": {"role": "supervisor", "all_sites": True},
    "super_off": {"role": "supervisor", "site_codes": ["OFF"]},
    "expert1": {"role": "expert", "expert_code": "E01"},
    "term1": {"role": "terminal", "room_code": "MAIN-R1", "site_codes": ["MAIN"]},
}


def seed_users(session: Session) -> None:
    """Create the users of USERS."""
    for name, extra in USERS.items():
        create_user(session, data=UserCreate.model_validate({"username": name, "password": PASSWORD, **extra}))
    session.commit()


@contextmanager
def app_client(engine: Engine, monkeypatch: pytest.MonkeyPatch, *, load_tiny: bool = True,
               users: bool = True) -> Iterator[TestClient]:
    """A TestClient of the whole app on `engine`, with the tiny day and the users loaded (unless already)."""
    from api.main import create_app

    monkeypatch.setattr(db, "get_engine", lambda url=None: engine)
    monkeypatch.setattr(clock, "now", lambda: BEFORE_START)
    monkeypatch.setattr("access.deps.get_engine", lambda url=None: engine)
    monkeypatch.setattr("api.main.get_engine", lambda url=None: engine)
    stamp(engine)  # the fixture built the schema with create_all; the app would otherwise migrate
    with Session(engine) as session:
        if load_tiny:
            import_instance(session, tiny_day()[0])
            session.commit()
        if users:
            seed_users(session)
    with TestClient(create_app()) as c:
        yield c


def bearer(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Authorization headers for `username` (obtained through the token endpoint)."""
    r = client.post("/api/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
