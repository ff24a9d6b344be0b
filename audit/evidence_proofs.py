"""The ledger part of an evidence zip that makes it checkable offline: checkpoints, tokens, keys and proofs.

Files (all under `ledger/`, all listed in the manifest):
- `checkpoint.txt` (+ `checkpoint.tsr`): the checkpoint signed for the export, and its RFC 3161 token;
- `checkpoints/<id>.txt` (+ `.tsr`): the checkpoints that first held each draw commitment of the slice
  (a seed is revealed only once that one is time-stamped), and `consistency.json`: the RFC 9162
  consistency proof from each of them to the export checkpoint;
- `inclusion.jsonl`: per slice entry, its RFC 9162 inclusion proof in the export checkpoint's tree;
- `keys.txt`: the log's verifier keys (current and rotated-out); `tsa-ca.pem`: the TSA's CA certificates.
"""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlmodel import Session

from config.settings import get_settings
from ledger import checkpoints, signing, tree
from ledger.models import LedgerCheckpoint

PROOF_CHUNK = 1000
Add = Callable[[str, bytes, str], None]


def write_checkpoints(session: Session, add: Add, export: LedgerCheckpoint, commit_seqs: list[int]) -> dict[str, Any]:
    """Add the checkpoints, tokens, keys and consistency proofs; returns the manifest's `checkpoint` part."""
    s = get_settings()
    add("ledger/checkpoint.txt", export.note.encode("utf-8"), "the checkpoint signed for this export (C2SP note)")
    token = checkpoints.token(export)
    if token:
        add("ledger/checkpoint.tsr", token, "RFC 3161 time-stamp response over checkpoint.txt")
    earlier: dict[int, LedgerCheckpoint] = {}
    for seq in commit_seqs:
        cp = checkpoints.covering(session, seq)
        if cp is not None and cp.id is not None and cp.id != export.id and cp.size <= export.size:
            earlier[cp.id] = cp
    consistency: dict[str, list[str]] = {}
    for cp_id, cp in sorted(earlier.items()):
        add(f"ledger/checkpoints/{cp_id}.txt", cp.note.encode("utf-8"), "a checkpoint holding a draw commitment")
        if (tok := checkpoints.token(cp)) is not None:
            add(f"ledger/checkpoints/{cp_id}.tsr", tok, "its RFC 3161 time-stamp response")
        proof = tree.consistency_proof(session, cp.size, export.size)
        consistency[str(cp_id)] = [base64.b64encode(h).decode() for h in proof]
    add("ledger/consistency.json", json.dumps(consistency, indent=1, sort_keys=True).encode(),
        "RFC 9162 consistency proofs from each checkpoints/<id>.txt to checkpoint.txt")
    keys = "".join(v.text + "\n" for v in signing.verifiers(s))
    add("ledger/keys.txt", keys.encode(), "the log's verifier keys (compare with the keys the centre publishes)")
    if s.ledger_tsa_ca_file and str(s.ledger_tsa_ca_file):
        add("ledger/tsa-ca.pem", Path(s.ledger_tsa_ca_file).read_bytes(), "the time-stamp authority's CA certificates")
    return {"id": export.id, "size": export.size, "root_hash": export.root_hash, "timestamped": token is not None,
            "tsa_time": export.tsa_time.isoformat() if export.tsa_time else None, "earlier": sorted(earlier)}


def write_inclusion(session: Session, zf: zipfile.ZipFile, info: zipfile.ZipInfo, seqs: list[int],
                    size: int) -> tuple[str, int]:
    """Stream `inclusion.jsonl` (one proof per slice entry) into `zf`; returns (SHA-256, size)."""
    digest = hashlib.sha256()
    written = 0
    with zf.open(info, "w") as fh:
        for i in range(0, len(seqs), PROOF_CHUNK):
            part = seqs[i:i + PROOF_CHUNK]
            proofs = tree.inclusion_proofs(session, [s - 1 for s in part], size)
            for seq in part:
                line = (json.dumps({"seq": seq, "path": [base64.b64encode(h).decode() for h in proofs[seq - 1]]},
                                   separators=(",", ":")) + "\n").encode()
                fh.write(line)
                digest.update(line)
                written += len(line)
    return digest.hexdigest(), written
