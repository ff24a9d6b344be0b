"""The expert's own seats: the service and /api/me/engagements, on both databases."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

import ledger
from evaluation import invitations, replacements
from evaluation import projects as project_service
from evaluation import service as draws
from evaluation.importer import import_instance
from evaluation.models import Draw, Project
from notify.links import rsvp_ref
from notify.models import Notification, Rsvp
from portal import engagements as portal
from tests.api_support import AFTER_START, BEFORE_START, bearer
from tests.factories_instance import tiny_day
from tests.mail_support import give_emails, use_settings
from tests.portal.portal_support import (
    EXPERT_CODE,
    Drawn,
    csrf_of,
    denied,
    drawn,
    expert_user,
    holders,
    kinds,
    leaks,
    login,
    mine,
    notify,
    page_csrf,
)

__all__ = ["drawn"]  # the fixture, used by name


# --- API ------------------------------------------------------------------------------------------


def test_expert_sees_only_own_seat_with_the_notifications_facts(drawn: Drawn, engine: Engine) -> None:
    notify(drawn, engine)
    with Session(engine) as s:
        holders = {h.expert_code: h for h in invitations.seat_holders(s, draw_id=drawn.draw_id)}
        p1 = s.exec(select(Project).where(Project.code == "P1")).one()
    refs = {}
    for user in ("exp_a", "exp_b"):
        code = drawn.users[user]
        r = drawn.client.get("/api/me/engagements", headers=bearer(drawn.client, user))
        body = r.json()
        assert r.status_code == 200 and body["window_days"] == 30
        [e] = body["engagements"]
        h = holders[code]
        assert e["ref"] == rsvp_ref(drawn.draw_id, "P1", code)
        assert (e["site_name"], e["room"], e["status"]) == (h.site.name, h.room_code, "invited")
        assert e["when"] == "2026-11-23 09:00" and e["utc_offset"] == "+8" and e["can_confirm"] and e["can_decline"]
        assert e["start"].startswith("2026-11-23T01:00:00")
        assert set(e) == {"ref", "start", "when", "utc_offset", "site_name", "city_zh", "city_en", "address", "room",
                          "status", "can_confirm", "can_decline"}
        others = [c for c in drawn.seated if c != code]
        assert not leaks(r.text, code, others), leaks(r.text, code, others)
        refs[user] = e["ref"]
    assert refs["exp_a"] != refs["exp_b"]
    assert p1.tenderer_id is not None  # the parties exist; they are simply never sent
    assert mine(drawn, "exp_idle") == []


def test_another_experts_reference_is_404_and_ledgered(drawn: Drawn, engine: Engine) -> None:
    notify(drawn, engine)
    theirs = rsvp_ref(drawn.draw_id, "P1", drawn.users["exp_b"])
    head = bearer(drawn.client, "exp_a")
    for ref in (theirs, "0" * 64):
        before = denied(engine)
        for action in ("confirm", "decline"):
            r = drawn.client.post(f"/api/me/engagements/{ref}/{action}", headers=head)
            assert r.status_code == 404 and r.json()["detail"][0]["loc"] == ["ref"], r.text
            assert not EXPERT_CODE.search(r.text)
        assert denied(engine) == before + 2
    assert drawn.client.post("/api/me/engagements/NOT-A-REF/confirm", headers=head).status_code == 422
    assert drawn.client.post(f"/api/me/engagements/{theirs}/maybe", headers=head).status_code in (404, 405)
    with Session(engine) as s:
        assert s.exec(select(Rsvp.status).where(Rsvp.ref == theirs)).one() == "pending"
    assert drawn.users["exp_b"] in holders(engine, drawn.draw_id)
    assert "notify.declined" not in kinds(engine) and "notify.confirmed" not in kinds(engine)


def test_decline_replaces_the_seat_like_the_link(drawn: Drawn, engine: Engine) -> None:
    notify(drawn, engine)
    code = drawn.users["exp_a"]
    [own] = mine(drawn, "exp_a")
    r = drawn.client.post(f"/api/me/engagements/{own['ref']}/decline", headers=bearer(drawn.client, "exp_a"))
    assert r.status_code == 200, r.text
    assert r.json() == {"ref": own["ref"], "status": "declined", "changed": True, "note": "declined"}
    after = holders(engine, drawn.draw_id)
    assert code not in after and len(after) == 4
    [newcomer] = sorted(set(after) - set(drawn.seated))
    with Session(engine) as s:
        invite = s.exec(select(Notification).where(Notification.kind == "replacement")).all()
        assert [n.rsvp_ref for n in invite] == [rsvp_ref(drawn.draw_id, "P1", newcomer)]
        declined = [e for e in ledger.entries(s) if e.kind == "notify.declined"]
        assert len(declined) == 1 and set(json.loads(declined[0].payload)) == {"ref"}
        assert declined[0].actor == "expert-link"
    assert kinds(engine).count("draw.replace") == 1

    [gone] = mine(drawn, "exp_a")
    assert gone["status"] == "declined" and gone["room"] is None and gone["site_name"] is None
    assert not gone["can_confirm"] and not gone["can_decline"]
    # The replacement sees the seat as invited; the one who left sees nothing of it but the time.
    expert_user(engine, "exp_new", newcomer)
    [theirs] = mine(drawn, "exp_new")
    assert theirs["status"] == "invited" and theirs["room"] is not None and theirs["ref"] != gone["ref"]
    again = drawn.client.post(f"/api/me/engagements/{own['ref']}/decline", headers=bearer(drawn.client, "exp_a"))
    assert again.status_code == 200 and again.json()["note"] == "already_declined" and not again.json()["changed"]
    late = drawn.client.post(f"/api/me/engagements/{own['ref']}/confirm", headers=bearer(drawn.client, "exp_a"))
    assert late.status_code == 409
    assert kinds(engine).count("notify.declined") == 1 and kinds(engine).count("draw.replace") == 1


def test_confirm_before_any_notification_is_recorded_once(drawn: Drawn, engine: Engine) -> None:
    head = bearer(drawn.client, "exp_b")
    [e] = mine(drawn, "exp_b")
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Rsvp)).one() == 0
    for note in ("confirmed", "already_confirmed"):
        r = drawn.client.post(f"/api/me/engagements/{e['ref']}/confirm", headers=head)
        assert r.status_code == 200 and r.json()["note"] == note, r.text
    assert kinds(engine).count("notify.confirmed") == 1
    [now] = mine(drawn, "exp_b")
    assert (now["status"], now["can_confirm"], now["can_decline"]) == ("confirmed", False, True)
    # The later draw-wide invitation still goes out, and the answer stands.
    notify(drawn, engine)
    assert mine(drawn, "exp_b")[0]["status"] == "confirmed"


def test_other_roles_are_refused_on_api_and_page(drawn: Drawn, engine: Engine) -> None:
    ref = rsvp_ref(drawn.draw_id, "P1", drawn.users["exp_a"])
    c = drawn.client
    for user in ("admin", "coord", "super", "term1"):
        head = bearer(c, user)
        before = denied(engine)
        for method, url in (("GET", "/api/me/engagements"), ("POST", f"/api/me/engagements/{ref}/confirm"),
                            ("POST", f"/api/me/engagements/{ref}/decline")):
            r = c.request(method, url, headers=head)
            assert r.status_code == 403 and r.json()["detail"][0]["loc"] == ["authorization"], (user, url, r.text)
        login(c, user)
        page = c.get("/me", follow_redirects=False)
        assert page.status_code == 403, (user, page.status_code)
        answer = c.post(f"/me/{ref}", data={"action": "decline", "csrf_token": csrf_of(c)}, follow_redirects=False)
        assert answer.status_code == 403
        assert denied(engine) == before + 5
    c.cookies.clear()
    assert c.get("/api/me/engagements").status_code == 401
    r = c.get("/me", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert drawn.users["exp_a"] in holders(engine, drawn.draw_id)


def test_cookie_api_write_needs_the_csrf_header(drawn: Drawn, engine: Engine) -> None:
    c = drawn.client
    login(c, "exp_a")
    [e] = c.get("/api/me/engagements").json()["engagements"]
    assert c.post(f"/api/me/engagements/{e['ref']}/confirm").status_code == 403
    r = c.post(f"/api/me/engagements/{e['ref']}/confirm", headers={"X-CSRF-Token": page_csrf(c)})
    assert r.status_code == 200 and r.json()["status"] == "confirmed"


# --- service (both databases, no HTTP) ---------------------------------------------------------------


def _drawn_session(session: Session) -> Draw:
    import_instance(session, tiny_day()[0])
    session.commit()
    return draws.draw(session, project_codes=["P1"], seed_hex="5eed")


def test_window_limits_what_is_unsealed(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    row = _drawn_session(session)
    assert row.id is not None
    code = invitations.seat_holders(session, draw_id=row.id)[0].expert_code
    calls: list[int] = []
    real = invitations.unseal_text

    def counting(blob: bytes, *, aad: bytes, key: bytes | None = None) -> str:
        calls.append(1)
        return real(blob, aad=aad, key=key)

    monkeypatch.setattr(invitations, "unseal_text", counting)
    later = AFTER_START + timedelta(days=10)
    assert [e.status for e in portal.engagements(session, expert_code=code, now=later)] == ["invited"]
    assert len(calls) == 4  # P1's four seats, and nothing else
    calls.clear()
    use_settings(monkeypatch, expert_portal_window_days=5)
    assert portal.engagements(session, expert_code=code, now=later) == []
    assert calls == []  # P1 started before the window: none of its seats is opened
    [e] = portal.engagements(session, expert_code=code, now=AFTER_START)
    assert not e.can_confirm and not e.can_decline and e.facts is not None


def test_replaced_and_cancelled_seats(session: Session) -> None:
    row = _drawn_session(session)
    assert row.id is not None
    give_emails(session)
    assert invitations.enqueue_draw_notifications(session, draw_id=row.id, now=BEFORE_START) == 4
    session.commit()
    first, second = [h.expert_code for h in invitations.seat_holders(session, draw_id=row.id)][:2]
    # A seat lost otherwise than by a decline (bid-opening conflict, closure …) shows as replaced.
    replacements.replace(session, draw_id=row.id, project_code="P1", expert_code=first, reason="conflict",
                  now=BEFORE_START)
    [lost] = portal.engagements(session, expert_code=first, now=BEFORE_START)
    assert (lost.status, lost.facts, lost.can_decline) == ("replaced", None, False)
    with pytest.raises(portal.SeatClosed) as closed:
        portal.answer(session, expert_code=first, ref=lost.ref, action="confirm", now=BEFORE_START)
    assert closed.value.reason == "gone"
    session.rollback()
    with pytest.raises(portal.NotYourSeat):
        portal.answer(session, expert_code=second, ref=lost.ref, action="decline", now=BEFORE_START)
    project_service.cancel_project(session, code="P1")
    session.commit()
    [e] = portal.engagements(session, expert_code=second, now=BEFORE_START)
    assert (e.status, e.can_confirm, e.can_decline) == ("cancelled", False, False)
    with pytest.raises(portal.SeatClosed) as closed:
        portal.answer(session, expert_code=second, ref=e.ref, action="decline", now=BEFORE_START)
    assert closed.value.reason == "cancelled"
    assert second in [h.expert_code for h in invitations.seat_holders(session, draw_id=row.id)]
