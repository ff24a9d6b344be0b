"""The expert's own page /me: Chinese and English, CSRF-protected answers, no party names."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config import clock
from evaluation import invitations
from notify.links import rsvp_ref
from tests.api_support import AFTER_START, PASSWORD
from tests.portal.portal_support import (
    Drawn,
    denied,
    drawn,
    holders,
    leaks,
    login,
    notify,
    page_csrf,
)

__all__ = ["drawn"]  # the fixture, used by name


# --- page -------------------------------------------------------------------------------------------


def test_page_lists_own_seat_and_declines_with_csrf(drawn: Drawn, engine: Engine) -> None:
    notify(drawn, engine)
    c = drawn.client
    code = drawn.users["exp_a"]
    with Session(engine) as s:
        h = next(h for h in invitations.seat_holders(s, draw_id=drawn.draw_id) if h.expert_code == code)
        room, site = h.room_code, h.site.name
    login(c, "exp_a")
    page = c.get("/me")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert room in page.text and site in page.text and "2026-11-23 09:00" in page.text
    assert "确认参加" in page.text and "无法参加" in page.text and "尚未回复" in page.text
    others = [x for x in drawn.seated if x != code]
    assert not leaks(page.text, code, others), leaks(page.text, code, others)
    en = c.get("/me", params={"lang": "en"})
    assert "Confirm" in en.text and "no answer yet" in en.text and not leaks(en.text, code, others)

    ref = rsvp_ref(drawn.draw_id, "P1", code)
    before = denied(engine)
    assert c.post(f"/me/{ref}", data={"action": "decline"}, follow_redirects=False).status_code == 403
    assert c.post(f"/me/{ref}", data={"action": "maybe", "csrf_token": page_csrf(c)}).status_code == 422
    theirs = rsvp_ref(drawn.draw_id, "P1", drawn.users["exp_b"])
    assert c.post(f"/me/{theirs}", data={"action": "decline", "csrf_token": page_csrf(c)}).status_code == 404
    assert denied(engine) == before + 2
    assert set(drawn.seated) == set(holders(engine, drawn.draw_id))

    r = c.post(f"/me/{ref}", data={"action": "decline", "csrf_token": page_csrf(c)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/me"
    shown = c.get("/me", params={"lang": "zh"}).text
    assert "替补专家已被通知" in shown and "已谢绝" in shown and room not in shown.split('id="upcoming"')[1]
    assert code not in holders(engine, drawn.draw_id)
    assert 'name="action" value="confirm"' not in shown and 'name="action" value="decline"' not in shown


def test_page_after_the_start_shows_the_seat_without_forms(drawn: Drawn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "now", lambda: AFTER_START)
    c = drawn.client
    login(c, "exp_a")
    page = c.get("/me", params={"lang": "en"}).text
    past = page.split('id="past"')[1]
    assert "2026-11-23 09:00" in past and "It can no longer be answered here" in past
    assert 'name="action"' not in page
    ref = rsvp_ref(drawn.draw_id, "P1", drawn.users["exp_a"])
    r = c.post(f"/me/{ref}", data={"action": "decline", "csrf_token": page_csrf(c)}, params={"lang": "en"})
    assert r.status_code == 200 and "has started" in r.text




def test_an_expert_logs_in_to_their_own_page(drawn: Drawn) -> None:
    c = drawn.client
    c.cookies.clear()
    token = c.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    r = c.post("/login", data={"username": "exp_a", "password": PASSWORD, "csrf_token": token, "next": "/calendar"},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/me"
