"""The operation log API: search the ledger in the caller's scope, verify the chain, export a project's evidence.

Every call is itself ledgered (`audit.view`, `audit.verify`, `evidence.export`); a filter or project
outside the caller's scope answers 404 like an unknown one, and the refusal is ledgered.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlmodel import Session

import ledger
from access.deps import SessionDep, Staff, deny_out_of_scope
from access.service import Principal
from audit import evidence, query
from config import clock
from config.types import IsoDatetime
from ledger.models import LedgerError

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["audit"])
HEX64 = r"^[0-9a-f]{64}$"
Code = Annotated[str | None, Query(min_length=1, max_length=60)]


class LedgerEntryOut(BaseModel):
    """One ledger entry as published; `ts` is the exact hashed text, so the hash can be recomputed."""

    seq: int
    ts: str
    actor: str
    kind: str
    subject: str
    payload: Any
    prev_hash: str
    hash: str


class LedgerPageOut(BaseModel):
    """Entries in seq order; pass `next_after_seq` as `after_seq` for the next page (null on the last)."""

    entries: list[LedgerEntryOut]
    next_after_seq: int | None


class VerifyIn(BaseModel):
    """Optionally a head hash published earlier, which the chain must still contain."""

    expect_head: str | None = Field(default=None, pattern=HEX64)


class VerifyOut(BaseModel):
    """The result of `ledger.verify`, as `yidi audit verify` reports it."""

    ok: bool
    entries: int
    head: str | None
    problems: list[str]
    message: str


def refuse(request: Request, session: Session, who: Principal, exc: query.OutOfScope) -> HTTPException:
    """Ledger an out-of-scope filter and return the 404 to raise (it names the field, not why)."""
    deny_out_of_scope(session, request, who, f"{exc.field}:{exc.value}")
    return HTTPException(status_code=404, detail=[{"loc": ["query", exc.field],
                                                   "msg": f"unknown {exc.field}: {exc.value}"}])


@router.get("/ledger/entries", response_model=LedgerPageOut)
def search_entries(
    request: Request, session: SessionDep, who: Staff, project: Code = None, site: Code = None, room: Code = None,
    actor: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    kind: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    since: Annotated[IsoDatetime | None, Query(description="entries at or after (ISO 8601 with offset)")] = None,
    until: Annotated[IsoDatetime | None, Query(description="entries before (ISO 8601 with offset)")] = None,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=query.MAX_LIMIT)] = query.DEFAULT_LIMIT,
) -> LedgerPageOut:
    """Ledger entries in the caller's scope by project, site, room, actor, kind (prefix) and time; ledgered."""
    q = query.LedgerQuery(project=project, site=site, room=room, actor=actor, kind=kind, since=since, until=until,
                          after_seq=after_seq, limit=limit)
    try:
        page = query.search(session, who=who, query=q)
    except query.OutOfScope as exc:
        raise refuse(request, session, who, exc) from None
    out = LedgerPageOut(entries=[LedgerEntryOut(**query.entry_dict(e)) for e in page.entries],
                        next_after_seq=page.next_after_seq)
    query.record_view(session, who=who, query=q, via="api")
    session.commit()
    return out


def run_verify(session: Session, who: Principal, expect_head: str | None, via: str) -> VerifyOut:
    """Verify the chain as `yidi audit verify` does and ledger that `who` did (committed)."""
    report = ledger.verify(session, expect_head=expect_head)
    if report.ok:
        message = f"Audit ledger OK: {report.entries} entries chain correctly; head hash {report.head}."
    else:
        message = (f"Audit ledger FAILED: {len(report.problems)} problem(s) in {report.entries} entries: the ledger "
                   "has been altered since it was written; preserve the database for investigation.")
    ledger.append(session, kind="audit.verify", subject=f"user:{who.username}", actor=who.actor,
                  payload={"via": via, "ok": report.ok, "entries": report.entries, "head": report.head,
                           "problems": len(report.problems)})
    session.commit()
    return VerifyOut(ok=report.ok, entries=report.entries, head=report.head, problems=report.problems,
                     message=message)


@router.post("/ledger/verify", response_model=VerifyOut)
def verify_ledger(session: SessionDep, who: Staff, body: VerifyIn | None = None) -> VerifyOut:
    """Re-hash the whole chain (same check as `yidi audit verify`); ledgered."""
    return run_verify(session, who, body.expect_head if body else None, "api")


@router.get("/projects/{code}/evidence.zip", response_class=Response,
            responses={200: {"content": {"application/zip": {}}, "description": "the evidence zip"},
                       413: {"description": "the ledger slice is above audit_evidence_max_entries"}})
def export_evidence(code: str, request: Request, session: SessionDep, who: Staff) -> Response:
    """A zip for an inspector: manifest, draws, result after the unsealing (D5), ledger slice, segment hashes."""
    try:
        project = query.find_project(session, who, code)
    except query.OutOfScope as exc:
        deny_out_of_scope(session, request, who, f"project:{code}")
        raise HTTPException(status_code=404, detail=[{"loc": ["path", "code"], "msg": f"unknown project: {code}"}]) \
            from exc
    now = clock.now()
    try:
        checkpoint = evidence.prepare(session, now=now)
    except LedgerError as exc:
        raise HTTPException(status_code=409, detail=[{"loc": ["ledger"], "msg": f"no checkpoint can be signed for "
                                                      f"this export: {exc}"}]) from None
    try:
        built = evidence.build(session, who=who, project=project, now=now, checkpoint=checkpoint)
    except evidence.EvidenceTooLarge as exc:
        raise HTTPException(status_code=413, detail=[{"loc": ["path", "code"], "msg": str(exc)}]) from None
    evidence.record_export(session, who=who, project=project, evidence=built)
    session.commit()
    return Response(built.content, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{built.filename}"'})
