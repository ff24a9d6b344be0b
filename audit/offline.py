"""`yidi verify-evidence FILE.zip`: check an evidence zip with no database and no network.

Checked, in order: every file the manifest lists (SHA-256; unlisted files are problems); the checkpoints'
signatures with the pinned keys (`--key`, else the zip's own `keys.txt`, which the report says to compare
with the centre's published key); their RFC 3161 tokens over the exact note bytes, with the pinned or
shipped TSA CA; every ledger.jsonl entry's hash, its chain link to the entry before it when consecutive,
and its inclusion proof in the export checkpoint; the earlier checkpoints' consistency with it; and each
draw whose result and instance are included: its commitment is in the slice, its result hash is the
ledgered one, the checkpoint holding its commitment was time-stamped before the seed was revealed, and the
result replays exactly (scheduler.replay).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509

from ledger import merkle, note, tsa
from ledger.models import entry_bytes, entry_hash, parse_ts
from scheduler.exceptions import InstanceError
from scheduler.instance import parse_instance
from scheduler.replay import replay_check

# A time-stamp's genTime is often whole seconds (truncated or rounded): a reveal within that of the stamp is after it.
SLACK = timedelta(seconds=1)


@dataclass
class Report:
    """What verify-evidence found: `ok` only with no problem; `notes` are facts worth reading."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    entries: int = 0

    @property
    def ok(self) -> bool:
        """No problem found."""
        return not self.problems


def _read(zf: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        return zf.read(name)
    except KeyError:
        return None


def _files(zf: zipfile.ZipFile, out: Report) -> dict[str, Any] | None:
    raw = _read(zf, "manifest.json")
    if raw is None:
        out.problems.append("manifest.json is missing")
        return None
    manifest: dict[str, Any] = json.loads(raw)
    listed = {f["name"]: f for f in manifest.get("files", [])}
    for name, item in listed.items():
        data = _read(zf, name)
        if data is None:
            out.problems.append(f"{name}: listed in the manifest but missing")
        elif hashlib.sha256(data).hexdigest() != item.get("sha256"):
            out.problems.append(f"{name}: its SHA-256 differs from the manifest's (altered)")
    extra = sorted(set(zf.namelist()) - set(listed) - {"manifest.json"})
    out.problems += [f"{name}: not listed in the manifest" for name in extra]
    return manifest


def _stamp(zf: zipfile.ZipFile, base: str, text: bytes, roots: list[x509.Certificate], out: Report) -> datetime | None:
    token = _read(zf, base + ".tsr")
    if token is None:
        out.notes.append(f"{base}.txt is not time-stamped")
        return None
    if not roots:
        out.problems.append(f"{base}.tsr: no TSA CA certificate to check it with (ledger/tsa-ca.pem or --tsa-ca)")
        return None
    try:
        return tsa.verify_stamp(token, text, roots=roots).time
    except tsa.TsaError as exc:
        out.problems.append(f"{base}.tsr: {exc}")
        return None


def _checkpoint(zf: zipfile.ZipFile, base: str, keys: list[note.Verifier], roots: list[x509.Certificate],
                out: Report) -> tuple[note.Checkpoint | None, datetime | None]:
    raw = _read(zf, base + ".txt")
    if raw is None:
        out.problems.append(f"{base}.txt is missing")
        return None, None
    try:
        body, _ = note.open_checkpoint(raw.decode("utf-8"), keys)
    except (note.NoteError, UnicodeDecodeError) as exc:
        out.problems.append(f"{base}.txt: {exc}")
        return None, None
    return body, _stamp(zf, base, raw, roots, out)


def _entries(zf: zipfile.ZipFile, cp: note.Checkpoint, out: Report) -> list[dict[str, Any]]:
    proofs: dict[int, list[bytes]] = {}
    for line in (_read(zf, "ledger/inclusion.jsonl") or b"").splitlines():
        item = json.loads(line)
        proofs[int(item["seq"])] = [base64.b64decode(h) for h in item["path"]]
    rows: list[dict[str, Any]] = []
    prev: dict[str, Any] | None = None
    for line in (_read(zf, "ledger.jsonl") or b"").splitlines():
        r = json.loads(line)
        rows.append(r)
        fields = {k: r[k] for k in ("seq", "ts", "actor", "kind", "subject", "payload", "prev_hash")}
        if entry_hash(**fields) != r["hash"]:
            out.problems.append(f"ledger.jsonl seq {r['seq']}: hash mismatch, the entry was edited")
        if prev is not None and prev["seq"] + 1 == r["seq"] and r["prev_hash"] != prev["hash"]:
            out.problems.append(f"ledger.jsonl seq {r['seq']}: does not link to seq {prev['seq']}")
        if r["seq"] not in proofs:
            out.problems.append(f"ledger.jsonl seq {r['seq']}: no inclusion proof")
        else:
            try:
                merkle.verify_inclusion(r["seq"] - 1, cp.size, merkle.leaf_hash(entry_bytes(**fields)),
                                        proofs[r["seq"]], cp.root)
            except merkle.ProofError as exc:
                out.problems.append(f"ledger.jsonl seq {r['seq']}: not in the signed log ({exc})")
        prev = r
    out.entries = len(rows)
    return rows


def _draws(zf: zipfile.ZipFile, rows: list[dict[str, Any]], stamps: dict[int, datetime | None],
           sizes: dict[int, int], out: Report) -> None:
    for name in sorted(n for n in zf.namelist() if n.startswith("draws/") and n.endswith("/result.json")):
        base = name.removesuffix("result.json")
        draw_id = base.split("/")[1]
        result_raw = zf.read(name)
        result = json.loads(result_raw)
        mine = [r for r in rows if r["subject"] == f"draw:{draw_id}"]
        commit = next((r for r in mine if r["kind"] == "draw.commit"), None)
        if commit is None or json.loads(commit["payload"]).get("seed_sha256") != result.get("seed_sha256"):
            out.problems.append(f"draw {draw_id}: its seed commitment is not in the ledger slice")
            continue
        ledgered = {json.loads(r["payload"]).get("result_sha256") for r in mine if r["kind"] == "draw.result"}
        if result.get("seed") and hashlib.sha256(result_raw).hexdigest() not in ledgered:
            out.notes.append(f"draw {draw_id}: result.json is not the ledgered result (a replacement changed it?)")
        reveal = next((r for r in mine if r["kind"] == "draw.reveal" and '"seed"' in r["payload"]), None)
        witnessed = [t for i, t in stamps.items() if sizes[i] >= commit["seq"] and t is not None]
        if reveal is not None and witnessed and min(witnessed) - SLACK > parse_ts(reveal["ts"]):
            out.problems.append(f"draw {draw_id}: its seed was revealed before its commitment was time-stamped")
        instance = _read(zf, base + "instance.json")
        if instance is None or not result.get("seed"):
            out.notes.append(f"draw {draw_id}: not replayed (the instance or the seed is not included)")
            continue
        try:
            doc = json.loads(instance)
            ok, message = replay_check(doc, parse_instance(doc), result)
        except (InstanceError, ValueError) as exc:
            ok, message = False, str(exc)
        (out.notes if ok else out.problems).append(f"draw {draw_id}: {message}")


def verify_zip(data: bytes, *, keys: Sequence[str] = (), tsa_ca: bytes | None = None) -> Report:
    """Check an evidence zip (see the module docstring); pinned `keys` and `tsa_ca` override the zip's own."""
    out = Report()
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        out.problems.append("not a zip file")
        return out
    with zf:
        if _files(zf, out) is None:
            return out
        try:
            pinned = [note.parse_verifier(k) for k in keys]
            shipped = [note.parse_verifier(k) for k in (_read(zf, "ledger/keys.txt") or b"").decode().split()]
            ca = tsa_ca or _read(zf, "ledger/tsa-ca.pem")
            roots = tsa.load_certificates(ca) if ca else []
        except (note.NoteError, tsa.TsaError) as exc:
            out.problems.append(f"keys: {exc}")
            return out
        if not pinned:
            out.notes.append("trusting the keys shipped in the zip: compare them with the centre's published key "
                             "(" + ", ".join(k.text for k in shipped) + ") or pass --key")
        trusted = pinned or shipped
        cp, cp_time = _checkpoint(zf, "ledger/checkpoint", trusted, roots, out)
        if cp is None:
            return out
        stamps: dict[int, datetime | None] = {}
        sizes: dict[int, int] = {}
        consistency = json.loads(_read(zf, "ledger/consistency.json") or b"{}")
        for cp_id, proof in consistency.items():
            earlier, when = _checkpoint(zf, f"ledger/checkpoints/{cp_id}", trusted, roots, out)
            if earlier is None:
                continue
            stamps[int(cp_id)], sizes[int(cp_id)] = when, earlier.size
            try:
                merkle.verify_consistency(earlier.size, cp.size, earlier.root, cp.root,
                                          [base64.b64decode(h) for h in proof])
            except merkle.ProofError as exc:
                out.problems.append(f"checkpoint {cp_id} is not consistent with the export checkpoint ({exc})")
        rows = _entries(zf, cp, out)
        _draws(zf, rows, stamps, sizes, out)
        out.notes.insert(0, f"export checkpoint: size {cp.size}, signed {cp.time.isoformat() if cp.time else '?'}"
                         + (f", time-stamped {cp_time.isoformat()}" if cp_time else ", not time-stamped"))
    return out


def zip_checkpoints(data: bytes) -> list[str]:
    """The signed checkpoint notes an evidence zip carries (to check a live ledger against them)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = [n for n in zf.namelist() if n == "ledger/checkpoint.txt"
                 or (n.startswith("ledger/checkpoints/") and n.endswith(".txt"))]
        return [zf.read(n).decode("utf-8") for n in sorted(names)]
