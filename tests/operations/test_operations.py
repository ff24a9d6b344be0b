"""Long operations: progress from the worker, failures as messages, access by creator and admins (both databases)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from config import db
from operations import service
from operations.models import Operation


def _finished(engine: Engine, op_id: int) -> Operation:
    deadline = time.monotonic() + 60
    while True:
        with Session(engine) as s:
            op = s.get(Operation, op_id)
            assert op is not None
            if op.status in ("done", "failed"):
                return op
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.fixture
def patched(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setattr(db, "get_engine", lambda url=None: engine)
    return engine


def test_progress_and_report(patched: Engine) -> None:
    seen: list[int] = []

    def work(progress: service.Progress) -> dict[str, Any]:
        progress.set_total(3)
        for _ in range(3):
            progress.advance()
            with Session(patched) as s:
                row = s.get(Operation, progress.operation_id)
                assert row is not None
                seen.append(row.done)
        return {"ok": 3}

    with Session(patched) as s:
        op_id = service.start(s, kind="test", created_by="user:x", work=work).id or 0
    done = _finished(patched, op_id)
    assert (done.status, done.total, done.done, done.report, done.message) == ("done", 3, 3, {"ok": 3}, "")
    assert seen == [1, 2, 3] and done.finished_at is not None


def test_failures_become_messages_never_tracebacks(patched: Engine) -> None:
    def boom(progress: service.Progress) -> dict[str, Any]:
        raise RuntimeError("secret internals at line 42")

    def told(progress: service.Progress) -> dict[str, Any]:
        raise service.OperationError("the file changed, try again")

    with Session(patched) as s:
        a = service.start(s, kind="test", created_by="user:x", work=boom).id or 0
        b = service.start(s, kind="test", created_by="user:x", work=told).id or 0
    fa, fb = _finished(patched, a), _finished(patched, b)
    assert fa.status == "failed" and "secret" not in fa.message and "Traceback" not in fa.message and fa.message
    assert (fb.status, fb.message) == ("failed", "the file changed, try again")


def test_unknown_or_foreign_operation_is_404(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.api_support import app_client, bearer

    with app_client(engine, monkeypatch) as c, Session(engine) as s:
        op_id = service.start(s, kind="test", created_by="user:coord", work=lambda p: {}).id or 0
        assert c.get(f"/api/operations/{op_id}", headers=bearer(c, "coord")).status_code == 200
        assert c.get(f"/api/operations/{op_id}", headers=bearer(c, "super")).status_code == 404
        assert c.get("/api/operations/999999", headers=bearer(c, "admin")).status_code == 404
        assert c.get("/api/operations/0", headers=bearer(c, "admin")).status_code == 422
        _finished(engine, op_id)
