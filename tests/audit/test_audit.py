"""The operation log: ledger search in scope, chain verification, the evidence zip and the log page."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

import ledger
from access.models import UserCreate
from accounts.service import create_user
from audit import evidence
from config import clock
from config.settings import get_settings
from evaluation.commitments import draw_result
from evaluation.models import Draw, Project, Seat
from ledger.models import LedgerEntry, entry_hash
from tests.api_support import AFTER_START, PASSWORD, app_client, bearer
from venues.models import Room

EXPERT_CODE = re.compile(r"\bE(0[1-9]|1[0-5])\b")


def _named(body: str) -> set[str]:
    """The expert codes of the tiny pool named in `body`."""
    return {m.group(0) for m in EXPERT_CODE.finditer(body)}


def _count(engine: Engine, kind: str) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == kind)).one())


def _draw(c: TestClient) -> int:
    """Rename P1 (a `project:P1` entry) and draw it (`draw:<id>` entries); the draw's id."""
    renamed = c.patch("/api/projects/P1", json={"name": "renamed"}, headers=bearer(c, "admin"))
    assert renamed.status_code == 200, renamed.text
    r = c.post("/api/draws", json={"project_codes": ["P1"], "seed": "5eed"}, headers=bearer(c, "admin"))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _committee(engine: Engine, draw_id: int) -> set[str]:
    with Session(engine) as s:
        row = s.get(Draw, draw_id)
        assert row is not None
        result = draw_result(row)
    seated = {seat["expert"] for p in result["projects"] for seat in p["seats"]}
    assert seated, "the tiny day's draw seats somebody"
    return seated


def _seat_room(engine: Engine) -> str:
    with Session(engine) as s:
        room = s.exec(select(Room.code).join(Seat, col(Seat.room_id) == col(Room.id))
                      .join(Project, col(Project.id) == col(Seat.project_id)).where(Project.code == "P1")).first()
    assert room is not None
    return room


def _add_user(engine: Engine, name: str, role: str, sites: list[str]) -> None:
    with Session(engine) as s:
        create_user(s, data=UserCreate.model_validate({"username": name, "password": PASSWORD, "role": role,
                                                       "site_codes": sites}))
        s.commit()


def _append(engine: Engine, kind: str, subject: str, ts: datetime, payload: dict[str, Any] | None = None) -> int:
    with Session(engine) as s:
        entry = ledger.append(s, kind=kind, subject=subject, payload=payload or {}, ts=ts)
        s.commit()
        return entry.seq


def _entries(c: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    r = c.get("/api/ledger/entries", params={"limit": 500, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json()["entries"])


def _login(c: TestClient, user: str) -> None:
    c.cookies.clear()
    token = c.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    r = c.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303, r.text


def _zip(c: TestClient, headers: dict[str, str]) -> tuple[dict[str, Any], dict[str, bytes]]:
    r = c.get("/api/projects/P1/evidence.zip", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    return json.loads(files["manifest.json"]), files


def test_scope_of_the_search(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        draw_id = _draw(c)
        _add_user(engine, "super_main", "supervisor", ["MAIN"])
        p1 = {"project:P1", f"draw:{draw_id}"}
        for user in ("admin", "super", "super_main"):
            subjects = {e["subject"] for e in _entries(c, bearer(c, user))}
            assert p1 <= subjects, user
        main_view = {e["subject"] for e in _entries(c, bearer(c, "super_main"))}
        assert "user:coord_off" not in main_view and not any(s.startswith("user:admin") for s in main_view)
        assert "user:term1" in main_view  # a terminal of MAIN lies in the supervisor's scope
        for user in ("coord_off", "super_off"):
            h = bearer(c, user)
            shown = _entries(c, h)
            assert not p1 & {e["subject"] for e in shown}, user
            # Refusals of OFF's users name what they typed (P1), nothing stored about it.
            assert not any("P1" in json.dumps(e) for e in shown if e["kind"] != "auth.denied"), user
            for field, value in (("project", "P1"), ("site", "MAIN"), ("room", "MAIN-R1")):
                before = _count(engine, "auth.denied")
                r = c.get("/api/ledger/entries", params={field: value}, headers=h)
                assert r.status_code == 404 and r.json()["detail"][0]["loc"] == ["query", field]
                assert _count(engine, "auth.denied") == before + 1
        assert c.get("/api/ledger/entries", headers=bearer(c, "expert1")).status_code == 403


def test_filters_and_paging(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        draw_id = _draw(c)
        admin = bearer(c, "admin")
        room = _seat_room(engine)
        start = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 +08:00
        inside = _append(engine, "av.segment", f"room:{room}", start + timedelta(minutes=5), {"sha256": "a" * 64})
        early = _append(engine, "av.segment", f"room:{room}", start - timedelta(hours=5), {"sha256": "b" * 64})
        _append(engine, "venue.note", "site:MAIN", start)

        kinds = {e["kind"] for e in _entries(c, admin, kind="draw.")}
        assert kinds == {"draw.commit", "draw.result"}
        assert {e["actor"] for e in _entries(c, admin, actor="admin")} == {"user:admin"}

        seqs = {e["seq"] for e in _entries(c, admin, project="P1")}
        assert inside in seqs and early not in seqs
        subjects = {e["subject"] for e in _entries(c, admin, project="P1")}
        assert subjects <= {"project:P1", f"draw:{draw_id}", f"room:{room}"}
        assert {e["seq"] for e in _entries(c, admin, room=room)} >= {inside, early}
        site_subjects = {e["subject"] for e in _entries(c, admin, site="MAIN")}
        assert {"site:MAIN", "project:P1", f"draw:{draw_id}"} <= site_subjects

        window = _entries(c, admin, since="2026-11-23T08:59:00+08:00", until="2026-11-23T09:06:00+08:00")
        assert [e["seq"] for e in window] == [inside, inside + 2]  # the segment and the site note (09:00)

        everything = _entries(c, admin)
        pages: list[int] = []
        after = 0
        while True:
            r = c.get("/api/ledger/entries", params={"limit": 3, "after_seq": after}, headers=admin).json()
            pages += [e["seq"] for e in r["entries"]]
            if r["next_after_seq"] is None:
                break
            after = r["next_after_seq"]
        assert pages[: len(everything)] == [e["seq"] for e in everything]
        assert pages == sorted(pages) and len(set(pages)) == len(pages)
        one = everything[0]
        assert one["hash"] == entry_hash(seq=one["seq"], ts=one["ts"], actor=one["actor"], kind=one["kind"],
                                         subject=one["subject"], prev_hash=one["prev_hash"],
                                         payload=json.dumps(one["payload"], sort_keys=True, separators=(",", ":"),
                                                            ensure_ascii=False))


@pytest.mark.parametrize(("params", "field"), [
    ({"since": "yesterday"}, "since"), ({"until": "2026-11-23T09:00:00"}, "until"), ({"limit": 0}, "limit"),
    ({"limit": 501}, "limit"), ({"after_seq": -1}, "after_seq"), ({"project": "x" * 61}, "project"),
    ({"kind": ""}, "kind"),
])
def test_bad_query_values_are_422_naming_the_field(engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                                   params: dict[str, Any], field: str) -> None:
    with app_client(engine, monkeypatch) as c:
        r = c.get("/api/ledger/entries", params=params, headers=bearer(c, "super"))
        assert r.status_code == 422
        assert any(d["loc"][-1] == field for d in r.json()["detail"]), r.text


def test_every_view_is_ledgered(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        h = bearer(c, "super")
        before = _count(engine, "audit.view")
        _entries(c, h, kind="auth.", actor="super")
        assert _count(engine, "audit.view") == before + 1
        last = _entries(c, h, kind="audit.view")[-1]
        assert last["actor"] == "user:super" and last["payload"]["filters"] == {"kind": "auth.", "actor": "super"}
        assert "entries" not in last["payload"]  # the filters, not the results


def test_verify_detects_a_tampered_entry(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        _draw(c)
        h = bearer(c, "super")
        before = _count(engine, "audit.verify")
        good = c.post("/api/ledger/verify", headers=h).json()
        assert good["ok"] and good["problems"] == [] and len(good["head"]) == 64
        assert _count(engine, "audit.verify") == before + 1
        with Session(engine) as s:
            seq = s.exec(select(LedgerEntry.seq).where(LedgerEntry.kind == "draw.result")).one()
        with engine.begin() as conn:
            conn.execute(text("UPDATE ledger_entry SET payload = :p WHERE seq = :s"), {"p": '{"summary":{}}', "s": seq})
        bad = c.post("/api/ledger/verify", json={"expect_head": good["head"]}, headers=h).json()
        assert not bad["ok"] and any(f"seq {seq}: hash mismatch" in p for p in bad["problems"])
        assert "FAILED" in bad["message"]
        with engine.begin() as conn:  # an edited timestamp still lists (as stored), and verification names it
            conn.execute(text("UPDATE ledger_entry SET ts = 'not-a-time' WHERE seq = 1"))
        assert _entries(c, h, after_seq=0)[0]["ts"] == "not-a-time"
        assert any(p.startswith("seq 1:") for p in c.post("/api/ledger/verify", headers=h).json()["problems"])
        assert c.post("/api/ledger/verify", json={"expect_head": "xyz"}, headers=h).status_code == 422


def _check_manifest(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == set(files) - {"manifest.json"}
    for name, info in listed.items():
        assert hashlib.sha256(files[name]).hexdigest() == info["sha256"] and len(files[name]) == info["size"]


def test_evidence_before_the_start_keeps_the_committee_sealed(engine: Engine,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        draw_id = _draw(c)
        committee = _committee(engine, draw_id)
        room = _seat_room(engine)
        _append(engine, "av.segment", f"room:{room}", datetime(2026, 11, 23, 0, 30, tzinfo=UTC),
                {"recording_id": "r1", "index": 0, "sha256": "c" * 64, "duration": 4.0})
        h = bearer(c, "super")
        with Session(engine) as s:
            head = ledger.head(s)
            assert head is not None
        before = _count(engine, "evidence.export")
        manifest, files = _zip(c, h)
        _check_manifest(manifest, files)
        assert manifest["ledger_head"] == {"seq": head.seq, "hash": head.hash}
        assert manifest["exported_by"] == "user:super" and not manifest["started"] and "D5" in manifest["sealed"]
        assert f"draws/{draw_id}/summary.json" in files
        assert not any(n.endswith(("result.json", "instance.json")) for n in files)
        assert "D5" in manifest["draws"][0]["result"]["reason"]
        for name, data in files.items():
            assert not committee & _named(data.decode()) and not EXPERT_CODE.search(data.decode()), name
        lines = [json.loads(line) for line in files["ledger.jsonl"].decode().splitlines()]
        assert {"project:P1", f"draw:{draw_id}"} <= {e["subject"] for e in lines}
        for e in lines:
            assert e["hash"] == entry_hash(seq=e["seq"], ts=e["ts"], actor=e["actor"], kind=e["kind"],
                                           subject=e["subject"], payload=e["payload"], prev_hash=e["prev_hash"])
        segments = json.loads(files["segments.json"])
        assert [s["sha256"] for s in segments] == ["c" * 64]
        assert _count(engine, "evidence.export") == before + 1
        for user in ("coord_off", "super_off"):
            before = _count(engine, "auth.denied")
            assert c.get("/api/projects/P1/evidence.zip", headers=bearer(c, user)).status_code == 404
            assert _count(engine, "auth.denied") == before + 1


def test_evidence_after_the_start_holds_the_result(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        draw_id = _draw(c)
        h = bearer(c, "admin")
        monkeypatch.setattr(clock, "now", lambda: AFTER_START)
        manifest, files = _zip(c, h)  # started, not yet unsealed
        assert manifest["started"] and f"draws/{draw_id}/result.json" not in files
        assert "reveal" in manifest["draws"][0]["result"]["reason"]
        assert c.post(f"/api/draws/{draw_id}/reveal", headers=h).status_code == 200
        manifest, files = _zip(c, h)
        _check_manifest(manifest, files)
        result = json.loads(files[f"draws/{draw_id}/result.json"])
        assert {s["expert"] for p in result["projects"] for s in p["seats"]} == _committee(engine, draw_id)
        note = manifest["draws"][0]
        assert note["result"]["matches"] == "draw.result" and not note["result"]["partial"]
        with Session(engine) as s:
            row = s.get(Draw, draw_id)
            assert row is not None
            assert hashlib.sha256(files[f"draws/{draw_id}/result.json"]).hexdigest() == row.result_sha256
            # Nothing changed since the draw: the re-export is the instance the draw used.
            assert note["instance"]["included"] and note["instance"]["matches"]
            assert hashlib.sha256(files[f"draws/{draw_id}/instance.json"]).hexdigest() == row.instance_sha256
        # A sub-centre's staff get the result of their project, but not the whole pool the instance holds.
        manifest, files = _zip(c, bearer(c, "coord_auxa"))
        assert f"draws/{draw_id}/result.json" in files and f"draws/{draw_id}/instance.json" not in files
        scoped = manifest["draws"][0]["instance"]
        assert not scoped["included"] and scoped["recorded_sha256"] == note["instance"]["recorded_sha256"]
        assert "draw.reveal" in {json.loads(line)["kind"] for line in files["ledger.jsonl"].decode().splitlines()}
        # Streamed in small chunks, the slice is still the project filter's entries up to the export.
        monkeypatch.setattr(evidence, "CHUNK", 3)
        listed = [e["seq"] for e in _entries(c, h, project="P1")]
        manifest, files = _zip(c, h)
        _check_manifest(manifest, files)
        lines = [json.loads(line)["seq"] for line in files["ledger.jsonl"].decode().splitlines()]
        assert len(lines) > 3 and lines == listed[: len(lines)] and manifest["ledger_entries"] == len(lines)


def test_evidence_over_the_limit_is_refused(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        _draw(c)
        monkeypatch.setenv("YIDI_AUDIT_EVIDENCE_MAX_ENTRIES", "100")
        get_settings.cache_clear()
        try:
            for i in range(100):
                _append(engine, "project.note", "project:P1", datetime(2026, 11, 22, tzinfo=UTC), {"i": i})
            r = c.get("/api/projects/P1/evidence.zip", headers=bearer(c, "admin"))
            assert r.status_code == 413 and "100" in r.json()["detail"][0]["msg"]
        finally:
            get_settings.cache_clear()


def test_log_page(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with app_client(engine, monkeypatch) as c:
        draw_id = _draw(c)
        committee = _committee(engine, draw_id)
        _login(c, "super")
        before = _count(engine, "audit.view")
        page = c.get("/audit")
        assert page.status_code == 200 and "操作日志" in page.text and f"draw:{draw_id}" in page.text
        assert not committee & _named(page.text) and not EXPERT_CODE.search(page.text)
        assert _count(engine, "audit.view") == before + 1
        english = c.get("/audit", params={"project": "P1", "kind": "draw.", "lang": "en"})
        assert "Operation log" in english.text and "draw.commit" in english.text
        assert "/api/projects/P1/evidence.zip" in english.text and "auth.login" not in english.text
        assert c.get("/audit", params={"since": "2026-13-01"}).status_code == 422
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        assert c.post("/audit/verify", data={"csrf_token": "wrong"}).status_code == 403
        done = c.post("/audit/verify", data={"csrf_token": token, "back": "/audit?kind=audit."})
        assert done.status_code == 200 and 'id="head-hash"' in done.text and "audit.verify" in done.text
        _login(c, "super_off")
        before = _count(engine, "auth.denied")
        assert c.get("/audit", params={"project": "P1"}).status_code == 404
        assert _count(engine, "auth.denied") == before + 1
        assert 'href="/projects/P1"' not in c.get("/audit").text
