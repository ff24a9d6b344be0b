"""Confirm/decline links end to end: real SMTP, the RSVP page, replacement on decline, coordinator API."""

from __future__ import annotations

import json
import logging
import re
import time

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy.engine import Engine
from sqlmodel import Session

import ledger
from config.sealing import draw_aad, unseal_text
from evaluation.models import Draw
from notify import service
from notify.links import make_token
from tests.api_support import BEFORE_START, app_client, bearer
from tests.mail_support import Inbox, email_of, give_emails
from tests.notify.test_outbox import CODES, assert_nothing_in_clear

LINK = re.compile(r"https?://[^/\s]+(/rsvp/[^?\s]+)\?action=(confirm|decline)")


def _result(engine: Engine, draw_id: int) -> dict:
    with Session(engine) as s:
        row = s.get(Draw, draw_id)
        assert row is not None and row.sealed_result is not None
        return json.loads(unseal_text(row.sealed_result, aad=draw_aad(draw_id)))


def _dispatch(engine: Engine) -> int:
    with Session(engine) as s:
        sent = service.dispatch_pending(s, now=BEFORE_START)
        s.commit()
        return sent


def _links(body: str) -> dict[str, str]:
    return {action: path for path, action in LINK.findall(body)}


@pytest.fixture
def notified(engine: Engine, monkeypatch: pytest.MonkeyPatch, smtp: Inbox):
    with app_client(engine, monkeypatch) as client:
        coord = bearer(client, "coord")
        r = client.post("/api/draws", json={"project_codes": ["P1"], "seed": "5eed"}, headers=coord)
        assert r.status_code == 201, r.text
        draw_id = r.json()["id"]
        with Session(engine) as s:
            emails = give_emails(s)
        r = client.post(f"/api/draws/{draw_id}/notifications", headers=coord)
        assert r.status_code == 200 and r.json() == {"enqueued": 4}
        assert _dispatch(engine) == 4
        yield client, coord, draw_id, emails


def test_decline_link_replaces_with_first_alternate_and_invites_them(
    notified: tuple, engine: Engine, smtp: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    client, coord, draw_id, emails = notified
    before = _result(engine, draw_id)
    p1 = before["projects"][0]
    seat = p1["seats"][0]
    alternate = next(a["experts"][0] for a in p1["alternates"] if a["need"] == seat["need"])
    decline = _links(smtp.bodies()[email_of(seat["expert"])])["decline"]

    page = client.get(decline, params={"action": "decline"})
    assert page.status_code == 200 and seat["room"] in page.text and "无法参加" in page.text
    assert "Decline" in client.get(decline, params={"lang": "en"}).text
    with caplog.at_level(logging.INFO):
        r = client.post(decline, data={"action": "decline"})
    assert r.status_code == 200 and "替补" in r.text

    after = _result(engine, draw_id)["projects"][0]
    seated = [s["expert"] for s in after["seats"]]
    assert seat["expert"] not in seated and alternate in seated
    assert _dispatch(engine) == 1
    to, msg = smtp.messages[-1]
    assert to == [email_of(alternate)] and "替补" in str(msg["Subject"])
    new_room = next(s["room"] for s in after["seats"] if s["expert"] == alternate)
    assert new_room in msg.get_content() and "/rsvp/" in msg.get_content()

    # A later draw-wide enqueue invites nobody again: the replacement's message was its invitation.
    assert client.post(f"/api/draws/{draw_id}/notifications", headers=coord).json() == {"enqueued": 0}
    # A second decline does nothing and says so; the old link can no longer confirm.
    again = client.post(decline, data={"action": "decline"})
    assert again.status_code == 200 and "未做任何更改" in again.text
    assert client.post(decline, data={"action": "confirm"}).status_code == 409
    with Session(engine) as s:
        kinds = [e.kind for e in ledger.entries(s)]
        assert kinds.count("notify.declined") == 1 and kinds.count("draw.replace") == 1
        declined = next(e for e in ledger.entries(s) if e.kind == "notify.declined")
        assert set(json.loads(declined.payload)) == {"ref"}
        assert_nothing_in_clear(s, CODES + list(emails))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert not any(a in logged for a in emails) and seat["expert"] not in logged and alternate not in logged

    summary = client.get(f"/api/draws/{draw_id}/notifications", headers=coord)
    assert summary.status_code == 200
    body = summary.json()
    assert body["by_status"] == {"sent": 5} and body["by_channel"] == {"email": 5}
    assert body["projects"] == {"P1": {"confirmed": 0, "declined": 1, "pending": 4}}
    assert not any(code in summary.text for code in CODES) and "@" not in summary.text


def test_confirm_is_idempotent_and_ledgered_once(notified: tuple, engine: Engine, smtp: Inbox) -> None:
    client, coord, draw_id, _ = notified
    confirm = _links(next(iter(smtp.bodies().values())))["confirm"]
    first = client.post(confirm, data={"action": "confirm"})
    assert first.status_code == 200 and "感谢" in first.text
    second = client.post(confirm, data={"action": "confirm"}, params={"lang": "en"})
    assert second.status_code == 200 and "already confirmed" in second.text
    with Session(engine) as s:
        assert [e.kind for e in ledger.entries(s)].count("notify.confirmed") == 1
    counts = client.get(f"/api/draws/{draw_id}/notifications", headers=coord).json()["projects"]["P1"]
    assert counts == {"confirmed": 1, "declined": 0, "pending": 3}
    assert client.post(confirm, data={"action": "maybe"}).status_code == 422


def test_forged_expired_and_malformed_links_are_400_pages(
    notified: tuple, smtp: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _, _, _ = notified
    path = _links(next(iter(smtp.bodies().values())))["confirm"]
    token = path.rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    for bad in (f"/rsvp/{forged}", "/rsvp/not-a-token", "/rsvp/" + "x" * 300):
        assert client.get(bad).status_code == 400
        r = client.post(bad, data={"action": "decline"})
        assert r.status_code == 400 and "无效" in r.text and "Traceback" not in r.text
    # A validly signed token for an unknown reference is refused the same way.
    assert client.post(f"/rsvp/{make_token('0' * 64)}", data={"action": "confirm"}).status_code == 400
    # A token older than rsvp_link_max_age_hours has expired.
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 400 * 3600)
    old = make_token("0" * 64)
    monkeypatch.setattr(TimestampSigner, "get_timestamp", real)
    r = client.get(f"/rsvp/{old}")
    assert r.status_code == 400 and "expired" in r.text


def test_outbox_api_is_scoped(notified: tuple) -> None:
    client, _, draw_id, _ = notified
    assert client.get(f"/api/draws/{draw_id}/notifications", headers=bearer(client, "coord_off")).status_code == 404
    assert client.post(f"/api/draws/{draw_id}/notifications", headers=bearer(client, "expert1")).status_code == 403
    assert client.get("/api/draws/999/notifications", headers=bearer(client, "coord")).status_code == 404
    assert client.get(f"/api/draws/{draw_id}/notifications").status_code == 401
