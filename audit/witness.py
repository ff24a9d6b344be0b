"""Checkpoints leave the operator's reach: time-stamped, sent to the witnesses, and the log checked against them.

Three scheduled bodies (api.jobs): `ledger.checkpoint` signs a checkpoint every ledger_checkpoint_minutes
when the ledger has grown; `ledger.witness` (every minute) has the pending checkpoints time-stamped and
hands each stamped one (each one, without a TSA) to the outbox for every witness mailbox and webhook;
`ledger.verify` re-checks the whole ledger against every checkpoint and alerts the supervisors and the
witnesses when it fails (once per distinct failure).
"""

from __future__ import annotations

import json
import logging
import textwrap
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

import ledger
from access.models import User
from config.settings import get_settings
from ledger import checkpoints, signing
from ledger.models import LedgerCheckpoint, LedgerEntry, LedgerError
from ledger.sampled import sampled_verify
from notify import service as outbox

logger = logging.getLogger(__name__)
ACTOR = "system:ledger"
WITNESS = "witness"


def checkpoint_job(session: Session, *, now: datetime) -> dict[str, Any]:
    """Sign a scheduled checkpoint when the ledger has grown since the last one."""
    before = checkpoints.latest(session)
    try:
        cp = checkpoints.make(session, reason="schedule", now=now)
    except checkpoints.CheckpointRefused as exc:
        session.rollback()
        alert(session, problem=str(exc), now=now)
        return {"signed": 0, "refused": 1}
    signed = before is None or cp.id != before.id
    session.commit()
    return {"signed": int(signed), "size": cp.size}


def _email(cp: LedgerCheckpoint, keys: list[str]) -> tuple[str, str]:
    s = get_settings()
    stamped = (f"time-stamped {cp.tsa_time.isoformat()} by {s.ledger_tsa_url}" if cp.tsa_time
               else "not time-stamped (this deployment has no time-stamp authority)")
    token = "\n".join(textwrap.wrap(cp.tsa_token, 76)) if cp.tsa_token else "(none)"
    subject = f"[Yidi 异地] 审计日志检查点 ledger checkpoint #{cp.id} · {s.ledger_origin} · size {cp.size}"
    body = (f"Checkpoint #{cp.id} of the audit ledger {s.ledger_origin}: {cp.size} entries, signed "
            f"{cp.created_at.isoformat()} ({cp.reason}), {stamped}.\n\n"
            "请保存本邮件：日后可据此核对该中心的审计日志未被改写。Keep this message: with it anyone can later check "
            "that the centre's audit ledger was not rewritten (`yidi ledger verify --checkpoint FILE`, FILE being the "
            "note below, or `yidi verify-evidence ZIP --checkpoint FILE` against an evidence zip).\n\n"
            f"----- signed note -----\n{cp.note}----- end -----\n\n"
            f"RFC 3161 time-stamp token over the note (base64 DER TimeStampResp):\n{token}\n\n"
            "Signing keys (name+hash+key):\n" + "\n".join(keys) + "\n")
    return subject, body


def _webhook(cp: LedgerCheckpoint, keys: list[str]) -> str:
    s = get_settings()
    return json.dumps({"type": "yidi.ledger.checkpoint", "origin": s.ledger_origin, "id": cp.id, "size": cp.size,
                       "root_hash": cp.root_hash, "reason": cp.reason, "signed_at": cp.created_at.isoformat(),
                       "note": cp.note, "timestamp_token": cp.tsa_token,
                       "timestamped_at": cp.tsa_time.isoformat() if cp.tsa_time else None, "verifier_keys": keys},
                      ensure_ascii=False, sort_keys=True)


def _send(session: Session, *, subject: str, body: str, json_body: str, now: datetime) -> int:
    s = get_settings()
    for address in s.ledger_witness_emails:
        outbox.enqueue(session, channel="email", kind="witness", expert_code=WITNESS, address=address,
                       subject=subject, body=body, now=now)
    for url in s.ledger_witness_webhooks:
        outbox.enqueue(session, channel="webhook", kind="witness", expert_code=WITNESS, address=url,
                       subject=subject, body=json_body, now=now)
    return len(s.ledger_witness_emails) + len(s.ledger_witness_webhooks)


def witness_job(session: Session, *, now: datetime) -> dict[str, Any]:
    """Time-stamp the waiting checkpoints, then queue every stamped (or, without a TSA, every) one to the witnesses."""
    s = get_settings()
    stamped = checkpoints.stamp_pending(session)
    session.commit()
    ready = select(LedgerCheckpoint).where(col(LedgerCheckpoint.witnessed_at).is_(None))
    if s.ledger_tsa_url:
        ready = ready.where(col(LedgerCheckpoint.tsa_token).is_not(None))
    keys = [v.text for v in signing.verifiers(s)]
    sent = 0
    for cp in session.exec(ready.order_by(col(LedgerCheckpoint.id)).limit(50)).all():
        subject, body = _email(cp, keys)
        sent += _send(session, subject=subject, body=body, json_body=_webhook(cp, keys), now=now)
        cp.witnessed_at = now
        session.add(cp)
        session.commit()
    return {**stamped, "messages": sent}


def _supervisors(session: Session) -> list[str]:
    rows = session.exec(select(User.email).where(User.role == "supervisor", col(User.active).is_(True),
                                                 col(User.email).is_not(None))).all()
    return sorted({e for e in rows if e})


def alert(session: Session, *, problem: str, now: datetime) -> bool:
    """Ledger `ledger.alert` and mail the supervisors and the witnesses, unless this failure was already raised."""
    last = session.exec(select(LedgerEntry.payload).where(LedgerEntry.kind == "ledger.alert")
                        .order_by(col(LedgerEntry.seq).desc()).limit(1)).first()
    if last and json.loads(last).get("problem") == problem[:500]:
        return False
    ledger.append(session, kind="ledger.alert", subject="ledger", actor=ACTOR, payload={"problem": problem[:500]})
    subject = "[Yidi 异地] 审计日志校验失败 the audit ledger failed verification"
    body = (f"{now.isoformat()}: the audit ledger {get_settings().ledger_origin} failed verification.\n\n{problem}\n\n"
            "Preserve the database and the witnesses' checkpoints for investigation; seeds stay sealed meanwhile.\n")
    for address in _supervisors(session):
        outbox.enqueue(session, channel="email", kind="witness", expert_code=WITNESS, address=address,
                       subject=subject, body=body, now=now)
    _send(session, subject=subject, body=body, now=now,
          json_body=json.dumps({"type": "yidi.ledger.alert", "problem": problem, "at": now.isoformat()},
                               ensure_ascii=False))
    session.commit()
    logger.error("audit ledger verification failed: %s", problem)
    return True


def verify_job(session: Session, *, now: datetime) -> dict[str, Any]:
    """Verify the ledger against every checkpoint (sampled beyond ledger_verify_window entries); alert on a failure."""
    try:
        report = sampled_verify(session, window=get_settings().ledger_verify_window)
    except LedgerError as exc:
        report = ledger.VerifyReport(ok=False, entries=0, head=None, problems=[str(exc)])
    alerted = False if report.ok else alert(session, problem=report.problems[0], now=now)
    return {"ok": report.ok, "entries": report.entries, "checkpoints": report.checkpoints,
            "problems": len(report.problems), "alerted": alerted}


def latest_witnessed(session: Session) -> LedgerCheckpoint | None:
    """The newest time-stamped checkpoint, or without a TSA the newest one."""
    stmt = select(LedgerCheckpoint)
    if get_settings().ledger_tsa_url:
        stmt = stmt.where(col(LedgerCheckpoint.tsa_token).is_not(None))
    return session.exec(stmt.order_by(col(LedgerCheckpoint.size).desc(), col(LedgerCheckpoint.id).desc())
                        .limit(1)).first()


def facts(session: Session) -> dict[str, Any]:
    """What the public page shows."""
    s = get_settings()
    cp = latest_witnessed(session)
    return {"origin": s.ledger_origin, "keys": [v.text for v in signing.verifiers(s)],
            "tsa": bool(s.ledger_tsa_url), "witnesses": len(s.ledger_witness_emails) + len(s.ledger_witness_webhooks),
            "checkpoint": cp, "checkpoint_minutes": s.ledger_checkpoint_minutes}


# Job id -> body; the runner (api.jobs.bodies) joins these with the other packages' bodies.
BODIES = {"ledger.checkpoint": checkpoint_job, "ledger.witness": witness_job, "ledger.verify": verify_job}
