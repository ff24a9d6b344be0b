"""The checkpoints' API: the verifier keys and the latest witnessed checkpoint (public), stored checkpoints and
RFC 9162 proofs (staff)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel
from sqlmodel import Session, col, select

from access.deps import SessionDep, Staff
from audit.witness import latest_witnessed
from config.settings import get_settings
from ledger import checkpoints, signing, tree
from ledger.models import LedgerCheckpoint, LedgerCheckpointPublic
from ledger.tree import TreeError

router = APIRouter(prefix="/api/ledger", tags=["audit"])


class KeysOut(BaseModel):
    """The log's identity and verifier keys (current first), and whether a TSA stamps its checkpoints."""

    origin: str
    keys: list[str]
    timestamped: bool


@router.get("/keys", response_model=KeysOut)
def keys() -> KeysOut:
    """The checkpoint verifier keys (public)."""
    s = get_settings()
    return KeysOut(origin=s.ledger_origin, keys=[v.text for v in signing.verifiers(s)],
                   timestamped=bool(s.ledger_tsa_url))


@router.get("/checkpoints/latest", response_model=LedgerCheckpointPublic)
def latest(session: SessionDep) -> LedgerCheckpointPublic:
    """The latest witnessed checkpoint (public): signed note and RFC 3161 token."""
    cp = latest_witnessed(session)
    if cp is None:
        raise HTTPException(status_code=404, detail=[{"loc": ["checkpoint"], "msg": "no checkpoint yet"}])
    return LedgerCheckpointPublic.model_validate(cp)


@router.get("/checkpoints", response_model=list[LedgerCheckpointPublic])
def list_checkpoints(session: SessionDep, who: Staff, after_id: int = Query(default=0, ge=0, le=2**31 - 1),
                     limit: int = Query(default=100, ge=1, le=500)) -> list[LedgerCheckpointPublic]:
    """Stored checkpoints in id order, for staff (page with `after_id`)."""
    rows = session.exec(select(LedgerCheckpoint).where(col(LedgerCheckpoint.id) > after_id)
                        .order_by(col(LedgerCheckpoint.id)).limit(limit)).all()
    return [LedgerCheckpointPublic.model_validate(r) for r in rows]


class ProofOut(BaseModel):
    """An RFC 9162 proof: hex hashes in order."""

    proof: list[str]


def _size(session: Session, size: int) -> None:
    last = checkpoints.latest(session)
    if last is None or size > last.size:
        raise HTTPException(status_code=422, detail=[{"loc": ["query", "size"],
                                                      "msg": "larger than the latest checkpoint's size"}])


def _proof(compute: Callable[[], list[bytes]]) -> ProofOut:
    """The proof as hex, or 409 when the stored tree lacks a node it needs."""
    try:
        return ProofOut(proof=[h.hex() for h in compute()])
    except TreeError as exc:
        raise HTTPException(status_code=409, detail=[{"loc": ["ledger"], "msg": str(exc)}]) from None


@router.get("/proofs/inclusion", response_model=ProofOut)
def inclusion(session: SessionDep, who: Staff, seq: int = Query(ge=1, le=2**31 - 1),
              size: int = Query(ge=1, le=2**31 - 1)) -> ProofOut:
    """The inclusion proof of entry `seq` in the tree of `size` entries (a checkpoint's size)."""
    _size(session, size)
    if seq > size:
        raise HTTPException(status_code=422, detail=[{"loc": ["query", "seq"], "msg": "beyond the tree's size"}])
    return _proof(lambda: tree.inclusion_proofs(session, [seq - 1], size)[seq - 1])


@router.get("/proofs/consistency", response_model=ProofOut)
def consistency(session: SessionDep, who: Staff, first: int = Query(ge=0, le=2**31 - 1),
                second: int = Query(ge=0, le=2**31 - 1)) -> ProofOut:
    """The consistency proof between two tree sizes (two checkpoints)."""
    _size(session, second)
    if first > second:
        raise HTTPException(status_code=422, detail=[{"loc": ["query", "first"], "msg": "larger than second"}])
    return _proof(lambda: tree.consistency_proof(session, first, second))
