"""Shared set-up of the expert's own seats tests: P1 drawn, three expert accounts, leak checks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

import ledger
from access.models import UserCreate
from accounts.service import create_user
from evaluation import invitations
from ledger.models import LedgerEntry
from tests.api_support import PASSWORD, app_client, bearer
from tests.mail_support import give_emails, use_settings

# What the project's parties and particulars look like in the tiny day: none may reach an expert.
PARTIES = ("TEND", "AGENT", "BID1", "BID2", "SUP", "OTHER", "tiny road works", "35000000", "P1")
EXPERT_CODE = re.compile(r"\bE\d\d\b")
CSRF_VALUE = re.compile(r'(name="csrf_token" value=")[^"]*(")')


@dataclass
class Drawn:
    client: TestClient
    draw_id: int
    seated: list[str]  # expert codes holding P1's seats, in seat order
    users: dict[str, str]  # username -> expert code


def expert_user(engine: Engine, username: str, code: str) -> None:
    with Session(engine) as s:
        create_user(s, data=UserCreate.model_validate({"username": username, "password": PASSWORD,
                                                       "role": "expert", "expert_code": code}))
        s.commit()


def holders(engine: Engine, draw_id: int) -> list[str]:
    with Session(engine) as s:
        return [h.expert_code for h in invitations.seat_holders(s, draw_id=draw_id)]


def denied(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "auth.denied")).one())


def kinds(engine: Engine) -> list[str]:
    with Session(engine) as s:
        return [e.kind for e in ledger.entries(s)]


def leaks(text: str, own: str, others: list[str]) -> list[str]:
    """Party names and expert codes found in an answer (the page's random CSRF token left out)."""
    text = CSRF_VALUE.sub(r"\1\2", text)
    found = [p for p in PARTIES if p in text]
    return found + [c for c in [own, *others] if c in text] + EXPERT_CODE.findall(text)


@pytest.fixture
def drawn(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Drawn]:
    # Nothing is sent at the draw: each test chooses whether the seat holders were notified.
    use_settings(monkeypatch, notify_on_draw=False)
    with app_client(engine, monkeypatch) as client:
        r = client.post("/api/draws", json={"project_codes": ["P1"], "seed": "5eed"}, headers=bearer(client, "coord"))
        assert r.status_code == 201, r.text
        draw_id = r.json()["id"]
        seated = holders(engine, draw_id)
        assert len(seated) == 4
        idle = next(f"E{i:02d}" for i in range(1, 16) if f"E{i:02d}" not in seated)
        users = {"exp_a": seated[0], "exp_b": seated[1], "exp_idle": idle}
        for name, code in users.items():
            expert_user(engine, name, code)
        yield Drawn(client, draw_id, seated, users)


def notify(d: Drawn, engine: Engine) -> None:
    with Session(engine) as s:
        give_emails(s)
    r = d.client.post(f"/api/draws/{d.draw_id}/notifications", headers=bearer(d.client, "coord"))
    assert r.json() == {"enqueued": 4}


def mine(d: Drawn, user: str) -> list[dict[str, Any]]:
    r = d.client.get("/api/me/engagements", headers=bearer(d.client, user))
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    return r.json()["engagements"]  # type: ignore[no-any-return]


def login(client: TestClient, user: str) -> None:
    client.cookies.clear()
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303, r.text


def page_csrf(client: TestClient) -> str:
    return client.get("/me").text.split('name="csrf_token" value="')[1].split('"')[0]


def csrf_of(client: TestClient) -> str:
    """The session's CSRF token as any page shows it (the login form works for every role)."""
    text = client.get("/login", follow_redirects=True).text
    return text.split('name="csrf_token" value="')[1].split('"')[0]
