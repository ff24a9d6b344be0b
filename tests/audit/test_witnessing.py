"""Checkpoints witnessed by a real local TSA and by witnesses; the seed waits for the stamp; offline evidence.

The TSA is `openssl ts` behind HTTP (tests/tsa_fixtures.py), the witness webhook a real HTTP server, the
mail a real SMTP server (aiosmtpd): nothing here is a mock.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

import ledger
from audit import witness
from audit.offline import verify_zip, zip_checkpoints
from config import clock
from evaluation.models import Draw
from ledger import signing, tree
from ledger.models import GENESIS_HASH, LedgerCheckpoint, entry_hash
from ledger.note import verifier
from notify.service import dispatch_pending
from tests.api_support import AFTER_START, app_client, bearer
from tests.mail_support import Inbox, fresh_settings, smtp, use_settings  # noqa: F401


class Hooks(BaseHTTPRequestHandler):
    """A witness's webhook endpoint: keeps every JSON body it is sent."""

    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hooks.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    Hooks.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/witness"
    finally:
        server.shutdown()


@pytest.fixture
def stamped(monkeypatch: pytest.MonkeyPatch, tsa: Any, smtp: Inbox, webhook: str) -> Any:  # noqa: F811
    use_settings(monkeypatch, ledger_tsa_url=tsa.url, ledger_tsa_ca_file=tsa.ca_path,
                 ledger_witness_emails=json.dumps(["jiandu@supervision.test"]),
                 ledger_witness_webhooks=json.dumps([webhook]))
    return tsa


def _draw(c: TestClient) -> int:
    r = c.post("/api/draws", json={"project_codes": ["P1"], "seed": "5eed"}, headers=bearer(c, "admin"))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _zip(c: TestClient) -> bytes:
    r = c.get("/api/projects/P1/evidence.zip", headers=bearer(c, "admin"))
    assert r.status_code == 200, r.text
    return r.content


def _rewrite(engine: Engine, draw_id: int) -> None:
    """The insider's attack: a new seed commitment for the draw, the chain and the tree recomputed to match."""
    with Session(engine) as s:
        s.execute(text("UPDATE ledger_entry SET payload = :p WHERE kind = 'draw.commit' AND subject = :d"),
                  {"p": json.dumps({"projects": ["P1"], "seed_sha256": "f" * 64, "software": "x"},
                                   separators=(",", ":")), "d": f"draw:{draw_id}"})
        prev = GENESIS_HASH
        for r in s.execute(text("SELECT id, seq, ts, actor, kind, subject, payload FROM ledger_entry ORDER BY seq")):
            h = entry_hash(seq=r.seq, ts=r.ts, actor=r.actor, kind=r.kind, subject=r.subject, payload=r.payload,
                           prev_hash=prev)
            s.execute(text("UPDATE ledger_entry SET prev_hash = :p, hash = :h WHERE id = :i"), {"p": prev, "h": h,
                                                                                              "i": r.id})
            prev = h
        tree.rebuild(s)
        s.commit()


def test_seed_waits_for_the_time_stamp_and_the_evidence_checks_offline(
        engine: Engine, monkeypatch: pytest.MonkeyPatch, stamped: Any, smtp: Inbox) -> None:  # noqa: F811
    with app_client(engine, monkeypatch) as c:
        with stamped.down():
            draw_id = _draw(c)  # the commitment's checkpoint is signed; the TSA is down, so it waits
            with Session(engine) as s:
                cp = s.exec(select(LedgerCheckpoint).where(LedgerCheckpoint.reason == "draw.commit")).one()
                assert cp.tsa_token is None and "could not" not in (cp.tsa_error or "x") and "503" in cp.tsa_error
            monkeypatch.setattr(clock, "now", lambda: AFTER_START)
            r = c.post(f"/api/draws/{draw_id}/reveal", headers=bearer(c, "admin"))
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["seed"] is None and "is not time-stamped yet" in body["seed_held"] and body["projects"]
            with Session(engine) as s:
                assert s.get(Draw, draw_id).status == "drawn"  # type: ignore[union-attr]
                assert witness.witness_job(s, now=AFTER_START)["waiting"] >= 1  # queued, nothing lost
        with Session(engine) as s:  # the TSA is back: the next pass stamps the queue and tells the witnesses
            done = witness.witness_job(s, now=AFTER_START)
            assert done["stamped"] >= 1 and done["waiting"] == 0 and done["messages"] >= 2
            assert dispatch_pending(s, now=AFTER_START) >= 2
            s.commit()
        assert Hooks.received and Hooks.received[0]["type"] == "yidi.ledger.checkpoint"
        assert Hooks.received[0]["timestamp_token"] and Hooks.received[0]["note"].startswith("yidi.local/ledger\n")
        mails = smtp.bodies()
        assert "----- signed note -----" in mails["jiandu@supervision.test"]
        r = c.post(f"/api/draws/{draw_id}/reveal", headers=bearer(c, "admin"))
        assert r.status_code == 200 and r.json()["seed"] and "seed_held" not in r.json()
        old = _zip(c)

    key = signing.current_verifier().text
    report = verify_zip(old, keys=[key])
    assert report.ok, report.problems
    assert any("replays exactly" in n for n in report.notes) and report.entries >= 4
    assert any("time-stamped" in n for n in report.notes)

    # An evidence zip made before the rewrite catches it, even once the stored checkpoints are gone too.
    _rewrite(engine, draw_id)
    with Session(engine) as s:
        s.execute(text("DELETE FROM ledger_checkpoint"))
        s.commit()
        assert ledger.verify(s).ok
        report_db = ledger.verify(s, given=zip_checkpoints(old))
    assert not report_db.ok and report_db.problems[0].startswith("the log contradicts the given checkpoint")


def _doctored(data: bytes, name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.namelist():
            dst.writestr(item, content if item == name else src.read(item))
    return out.getvalue()


def test_doctored_evidence_is_rejected(engine: Engine, monkeypatch: pytest.MonkeyPatch, stamped: Any) -> None:
    with app_client(engine, monkeypatch) as c:
        draw_id = _draw(c)
        monkeypatch.setattr(clock, "now", lambda: AFTER_START)
        assert c.post(f"/api/draws/{draw_id}/reveal", headers=bearer(c, "admin")).json()["seed"]
        data = _zip(c)
        with Session(engine) as s:
            other = s.exec(select(LedgerCheckpoint).order_by(col(LedgerCheckpoint.id))).first()
            assert other is not None and other.tsa_token
    key = signing.current_verifier().text
    assert verify_zip(data, keys=[key]).ok
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        lines = zf.read("ledger.jsonl").decode().splitlines()
    # A token for another checkpoint put in place of the export checkpoint's own (manifest fixed up too).
    swapped = _doctored(data, "ledger/checkpoint.tsr", base64.b64decode(other.tsa_token))
    problems = verify_zip(_refresh(swapped, manifest), keys=[key]).problems
    assert any("checkpoint.tsr" in p and "another message" in p for p in problems), problems
    # An entry edited in the zip (its hash recomputed): no longer in the signed log.
    e = json.loads(lines[0])
    e["actor"] = "user:mallory"
    e["hash"] = entry_hash(**{k: e[k] for k in ("seq", "ts", "actor", "kind", "subject", "payload", "prev_hash")})
    edited = _doctored(data, "ledger.jsonl", ("\n".join([json.dumps(e), *lines[1:]]) + "\n").encode())
    problems = verify_zip(_refresh(edited, manifest), keys=[key]).problems
    assert any(f"seq {e['seq']}: not in the signed log" in p for p in problems), problems
    # A file changed without fixing the manifest, and a key that is not the centre's.
    assert any("ledger.jsonl" in p for p in verify_zip(edited, keys=[key]).problems)
    stranger_key = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    stranger = verifier("yidi.local/ledger", stranger_key).text
    assert any("no signature on this note is by a known key" in p for p in verify_zip(data, keys=[stranger]).problems)


def _refresh(data: bytes, manifest: dict[str, Any]) -> bytes:
    """The zip with its manifest's hashes recomputed (a forger's fix-up)."""
    import hashlib

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    listed = [{**f, "sha256": hashlib.sha256(files[f["name"]]).hexdigest(), "size": len(files[f["name"]])}
              for f in manifest["files"]]
    return _doctored(data, "manifest.json", json.dumps({**manifest, "files": listed}).encode())


def test_verification_failure_alerts_once(engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                          smtp: Inbox) -> None:  # noqa: F811
    use_settings(monkeypatch, ledger_witness_emails=json.dumps(["jiandu@supervision.test"]))
    with app_client(engine, monkeypatch) as c:
        draw_id = _draw(c)
        with Session(engine) as s:
            s.execute(text("UPDATE users SET email = 'super@centre.test' WHERE username = 'super'"))
            s.commit()
            assert witness.verify_job(s, now=AFTER_START)["ok"]
        _rewrite(engine, draw_id)
        with Session(engine) as s:
            first = witness.verify_job(s, now=AFTER_START)
            again = witness.verify_job(s, now=AFTER_START)
            assert not first["ok"] and first["alerted"] and not again["alerted"]
            assert witness.checkpoint_job(s, now=AFTER_START)["refused"] == 1
            dispatch_pending(s, now=AFTER_START)
            s.commit()
    mails = smtp.bodies()
    assert "contradicts checkpoint #1" in mails["super@centre.test"]
    assert "contradicts checkpoint #1" in mails["jiandu@supervision.test"]


def test_public_page_and_proof_api(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        key = signing.current_verifier().text
        assert c.get("/api/ledger/checkpoints/latest").status_code == 404
        page = c.get("/transparency?lang=zh")
        assert page.status_code == 200 and key in page.text and "尚无检查点" in page.text
        draw_id = _draw(c)
        assert c.get("/api/ledger/keys").json() == {"origin": "yidi.local/ledger", "keys": [key], "timestamped": False}
        latest = c.get("/api/ledger/checkpoints/latest").json()  # anonymous: public facts
        page = c.get("/transparency?lang=en")
        assert f'data-size="{latest["size"]}"' in page.text and "no time-stamp authority" in page.text
        assert c.get("/api/ledger/proofs/inclusion", params={"seq": 1, "size": latest["size"]}).status_code == 401
        h = bearer(c, "super")
        with Session(engine) as s:
            commit = ledger.entries(s, kind_prefix="draw.commit", subject=f"draw:{draw_id}")[0]
            leaf = tree.leaf_of(next(r for r in tree.entry_rows(s) if r.seq == commit.seq))
        r = c.get("/api/ledger/proofs/inclusion", params={"seq": commit.seq, "size": latest["size"]}, headers=h)
        assert r.status_code == 200, r.text
        from ledger import merkle

        merkle.verify_inclusion(commit.seq - 1, latest["size"], leaf, [bytes.fromhex(x) for x in r.json()["proof"]],
                                bytes.fromhex(latest["root_hash"]))
        too_big = c.get("/api/ledger/proofs/consistency", params={"first": 1, "second": 10**6}, headers=h)
        assert too_big.status_code == 422 and too_big.json()["detail"][0]["loc"] == ["query", "size"]
        listed = c.get("/api/ledger/checkpoints", headers=h).json()
        assert [cp["reason"] for cp in listed] == ["draw.commit"] and listed[0]["note"] == latest["note"]
