"""The evidence zip of one project for an inspector: draws, result, ledger slice, recording hashes.

Contents (`manifest.json` lists every other file with its SHA-256 and says why a part is absent):
- `draws/<id>/summary.json`: each draw's public record (commitment, hashes, per-project status and
  seat counts per site of the projects the exporter may read; the seed once revealed);
- `draws/<id>/result.json`: only for a project that has started and been unsealed (D5); the whole
  draw-result/1 as stored when every project of the draw is unsealed, visible and the seed revealed,
  else the part the exporter may see (flagged partial);
- `draws/<id>/instance.json`: the draw-instance/1. Draws do not store their instance, so it is the
  re-export under the deployment rules, and the manifest says whether its SHA-256 equals the one the
  draw recorded. It names the pool and the committees drawn around it, so it is given only once every
  project of the draw and every committee in its history have started, to an exporter who may read
  every project of the draw;
- `ledger.jsonl`: the project's slice of the ledger (audit.query.project_clause), one entry per
  line with every hashed field (payload as its stored canonical text), so each hash can be recomputed
  and consecutive entries' links checked;
- `segments.json`: the `av.segment` entries of the slice (recording segment hashes).
The zip is built in memory (deflated; the ledger slice is streamed into it in chunks of CHUNK rows,
never held whole), with at most audit_evidence_max_entries ledger entries (EvidenceTooLarge, 413,
beyond). `manifest.json` is written last.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, type_coerce
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

import ledger
from access.service import Principal
from audit import evidence_proofs
from audit.query import project_clause, room_window
from config.clock import as_aware
from config.settings import get_settings
from evaluation import service as draw_service
from evaluation.commitments import draw_result
from evaluation.export import UnknownProjectError, export_instance
from evaluation.models import Draw, DrawProject, Project
from evaluation.visibility import visible_project_codes
from ledger import checkpoints
from ledger.models import LedgerCheckpoint, LedgerEntry
from scheduler.instance import canonical_bytes, sha256_hex

logger = logging.getLogger(__name__)
FORMAT = "yidi-evidence/1"
Stamp = tuple[int, int, int, int, int, int]  # a zip member's date and time (UTC)
CHUNK = 1000


class EvidenceTooLarge(ValueError):
    """The project's ledger slice exceeds audit_evidence_max_entries."""


@dataclass(frozen=True)
class Evidence:
    """A built evidence zip."""

    filename: str
    content: bytes
    manifest_sha256: str
    ledger_entries: int


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


def _draws(session: Session, project: Project) -> list[Draw]:
    ids = set(session.exec(select(DrawProject.draw_id).where(DrawProject.project_id == project.id)).all())
    for draw_id, codes in session.exec(select(Draw.id, Draw.project_codes).where(Draw.status == "committed")):
        if project.code in (codes or []) and draw_id is not None:
            ids.add(draw_id)
    return list(session.exec(select(Draw).where(col(Draw.id).in_(sorted(ids))).order_by(col(Draw.id))).all())


@dataclass
class _Slice:
    """What streaming the ledger slice leaves behind: its file's digest and the few entries needed later."""

    count: int = 0
    size: int = 0
    sha256: str = ""
    seqs: list[int] = field(default_factory=list)
    commits: list[int] = field(default_factory=list)  # seqs of the slice's draw.commit entries
    segments: list[dict[str, Any]] = field(default_factory=list)
    results: dict[int, dict[str, str]] = field(default_factory=dict)  # draw id → result SHA-256 → recorded by


def _stream_slice(session: Session, project: Project, zf: zipfile.ZipFile, stamp: Stamp, upto: int) -> _Slice:
    """Write `ledger.jsonl` (entries up to seq `upto`) into `zf` chunk by chunk (never the whole slice in memory)."""
    limit = get_settings().audit_evidence_max_entries
    clause = project_clause(session, project)
    cols = (col(LedgerEntry.seq), type_coerce(col(LedgerEntry.ts), String()).label("ts"), col(LedgerEntry.actor),
            col(LedgerEntry.kind), col(LedgerEntry.subject), col(LedgerEntry.payload), col(LedgerEntry.prev_hash),
            col(LedgerEntry.hash))
    out = _Slice()
    digest = hashlib.sha256()
    info = zipfile.ZipInfo("ledger.jsonl", date_time=stamp)
    info.compress_type = zipfile.ZIP_DEFLATED
    last = 0
    with zf.open(info, "w") as fh:
        while True:
            # The timestamp as its stored text: the hash covers those exact characters.
            rows = session.execute(sa_select(*cols).where(clause, col(LedgerEntry.seq) > last,
                                                          col(LedgerEntry.seq) <= upto)
                                   .order_by(col(LedgerEntry.seq)).limit(CHUNK)).all()
            out.count += len(rows)
            if out.count > limit:
                raise EvidenceTooLarge(f"the ledger slice of {project.code} has more than {limit} entries")
            for r in rows:
                line = (json.dumps({"seq": r.seq, "ts": r.ts, "actor": r.actor, "kind": r.kind, "subject": r.subject,
                                    "payload": r.payload, "prev_hash": r.prev_hash, "hash": r.hash},
                                   ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
                fh.write(line)
                digest.update(line)
                out.size += len(line)
                out.seqs.append(r.seq)
                if r.kind == "draw.commit":
                    out.commits.append(r.seq)
                _keep(out, r)
            if len(rows) < CHUNK:
                break
            last = rows[-1].seq
    out.sha256 = digest.hexdigest()
    return out


def _keep(out: _Slice, row: Any) -> None:
    """Note a segment hash or a replacement's result hash from one slice row."""
    if row.kind not in ("av.segment", "draw.replace"):
        return
    try:
        payload = json.loads(row.payload)
    except ValueError:
        return  # an edited row: `yidi audit verify` reports it
    if row.kind == "av.segment":
        out.segments.append({**payload, "room": row.subject.removeprefix("room:"), "ledger_seq": row.seq,
                             "ledger_hash": row.hash})
    elif isinstance(payload.get("draw"), int) and payload.get("result_sha256"):
        out.results.setdefault(payload["draw"], {})[payload["result_sha256"]] = f"draw.replace seq {row.seq}"


def _summary(draw: Draw, visible: set[str]) -> dict[str, Any]:
    summary = json.loads(draw.public_summary or "{}")
    return {"id": draw.id, "status": draw.status, "created_at": as_aware(draw.created_at).isoformat(),
            "software": draw.software, "seed_sha256": draw.seed_sha256, "instance_sha256": draw.instance_sha256,
            "result_sha256": draw.result_sha256, "seed": draw.seed_hex,
            "projects": sorted(c for c in draw.project_codes if c in visible),
            "summary": {c: s for c, s in summary.items() if c in visible}}


def _recorded_results(draw: Draw, found: _Slice) -> dict[str, str]:
    """result SHA-256 → what recorded it: the draw, or a replacement entry of the slice."""
    out = {draw.result_sha256: "draw.result"} if draw.result_sha256 else {}
    return {**out, **found.results.get(draw.id or 0, {})}


def _result(session: Session, draw: Draw, project: Project, visible: set[str], now: datetime,
            found: _Slice) -> tuple[bytes | None, dict[str, Any]]:
    """The result file and its manifest note (D5: absent before the start and before the unsealing)."""
    assert draw.id is not None
    if now < as_aware(project.start):
        return None, {"included": False, "reason": "sealed until the evaluation starts "
                      f"({as_aware(project.start).isoformat()}, rule D5)"}
    shown = draw_service.opened(session, draw_id=draw.id, now=now)
    opened = {p["project"] for p in (shown or {}).get("projects", [])}
    if shown is None or project.code not in opened:
        return None, {"included": False, "reason": "the evaluation has started but this draw has not been unsealed "
                      f"yet (POST /api/draws/{draw.id}/reveal), rule D5"}
    if draw.status == "revealed" and opened == set(draw.project_codes) <= visible:
        data = canonical_bytes(draw_result(draw))
        sha = sha256_hex(data)
        return data, {"included": True, "partial": False, "sha256": sha,
                      "matches": _recorded_results(draw, found).get(sha)}
    part = {**shown, "projects": [p for p in shown["projects"] if p["project"] in visible]}
    return canonical_bytes(part), {"included": True, "partial": True, "reason": "only the projects of the draw that "
                                   "are unsealed and in the exporter's scope (and the seed only once all started)"}


def _instance(session: Session, draw: Draw, visible: set[str], now: datetime,
              centre_wide: bool) -> tuple[bytes | None, dict[str, Any]]:
    """The re-exported instance and its manifest note, or None with the reason."""
    if not centre_wide:
        # It holds the whole pool (names, birth dates, homes, employers) and a year of every site's
        # committees: more than a site-scoped user may read anywhere else.
        return None, {"included": False, "recorded_sha256": draw.instance_sha256,
                      "reason": "the instance holds the whole expert pool and every site's past committees: it is "
                      "given to centre-wide staff only; its recorded SHA-256 is listed here"}
    codes = list(draw.project_codes)
    starts = dict(session.exec(select(Project.code, Project.start).where(col(Project.code).in_(codes))).all())
    if any(now < as_aware(s) for s in starts.values()) or len(starts) != len(codes):
        return None, {"included": False, "reason": "given once every project of the draw has started: it names "
                      "the committees drawn around it (rule D5)"}
    if not set(codes) <= visible:
        return None, {"included": False, "reason": "the draw also covers projects outside the exporter's scope"}
    try:
        doc = export_instance(session, project_codes=codes, rules=draw_service.deployment_rules().as_json(),
                              with_drawn=True)
    except UnknownProjectError:
        return None, {"included": False, "reason": "a project of the draw no longer exists"}
    named = sorted({h["project"] for h in doc.get("history", []) if h.get("project")})
    later = session.exec(select(Project.code).where(col(Project.code).in_(named), col(Project.start) > now)).all()
    if later:
        return None, {"included": False, "reason": "its history names committees of projects that have not started "
                      "(rule D5)"}
    data = canonical_bytes(doc)
    sha = sha256_hex(data)
    return data, {"included": True, "source": "re-export under the deployment rules (draws do not store it)",
                  "sha256": sha, "recorded_sha256": draw.instance_sha256, "matches": sha == draw.instance_sha256}


def prepare(session: Session, *, now: datetime) -> LedgerCheckpoint:
    """Sign the export's checkpoint and try to time-stamp it (committed: outside the zip's read)."""
    cp = checkpoints.make(session, reason="evidence", now=now)
    session.commit()
    checkpoints.stamp(session, cp)
    session.commit()
    return cp


def build(session: Session, *, who: Principal, project: Project, now: datetime,
          checkpoint: LedgerCheckpoint) -> Evidence:
    """Build the evidence zip of `project` for `who` (who may read it) at `now`, up to `checkpoint`."""
    head = ledger.head(session)
    buffer = io.BytesIO()
    utc = now.astimezone(UTC)
    stamp: Stamp = (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second)
    files: list[tuple[str, bytes, str]] = []
    draws: list[dict[str, Any]] = []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        found = _stream_slice(session, project, zf, stamp, checkpoint.size)
        proofs_info = zipfile.ZipInfo("ledger/inclusion.jsonl", date_time=stamp)
        proofs_info.compress_type = zipfile.ZIP_DEFLATED
        proofs_sha, proofs_size = evidence_proofs.write_inclusion(session, zf, proofs_info, found.seqs,
                                                                  checkpoint.size)
        cp_note = evidence_proofs.write_checkpoints(session, lambda n, d, t: files.append((n, d, t)), checkpoint,
                                                    found.commits)
        for draw in _draws(session, project):
            visible = visible_project_codes(session, who, list(draw.project_codes))
            base = f"draws/{draw.id}/"
            files.append((base + "summary.json", _dumps(_summary(draw, visible)), "the draw's public record"))
            note: dict[str, Any] = {"id": draw.id, "status": draw.status}
            for part, (data, info) in (("result", _result(session, draw, project, visible, now, found)),
                                       ("instance", _instance(session, draw, visible, now, who.all_sites))):
                note[part] = info
                if data is not None:
                    files.append((f"{base}{part}.json", data, f"draw-{part}/1, canonical JSON"))
            draws.append(note)
        files.append(("segments.json", _dumps(found.segments), "recording segment hashes (av.segment entries)"))
        listed = [{"name": "ledger.jsonl", "sha256": found.sha256, "size": found.size,
                   "description": "the project's ledger slice, one entry per line with every hashed field"},
                  {"name": "ledger/inclusion.jsonl", "sha256": proofs_sha, "size": proofs_size,
                   "description": "RFC 9162 inclusion proof of each ledger.jsonl entry in ledger/checkpoint.txt"}]
        listed += [{"name": n, "sha256": sha256_hex(d), "size": len(d), "description": t} for n, d, t in files]
        manifest_bytes = _dumps({**_manifest(who, project, now, head, found, draws, listed), "checkpoint": cp_note})
        for name, data in [*((n, d) for n, d, _ in files), ("manifest.json", manifest_bytes)]:
            zf.writestr(zipfile.ZipInfo(name, date_time=stamp), data, compress_type=zipfile.ZIP_DEFLATED)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", project.code)
    logger.info("evidence of project %s built: %d files, %d ledger entries", project.code, len(files) + 1,
                found.count)
    return Evidence(filename=f"evidence-{safe}-{now:%Y%m%dT%H%M%S}.zip", content=buffer.getvalue(),
                    manifest_sha256=sha256_hex(manifest_bytes), ledger_entries=found.count)


def _manifest(who: Principal, project: Project, now: datetime, head: LedgerEntry | None, found: _Slice,
              draws: list[dict[str, Any]], listed: list[dict[str, Any]]) -> dict[str, Any]:
    lo, hi = room_window(project)
    started = now >= as_aware(project.start)
    return {
        "format": FORMAT, "project": project.code, "exported_at": now.isoformat(), "exported_by": who.actor,
        "ledger_head": {"seq": head.seq, "hash": head.hash} if head else None,
        "ledger_entries": found.count, "rooms_window": {"from": lo.isoformat(), "to": hi.isoformat()},
        "started": started,
        "sealed": None if started else "before the evaluation starts the committee is sealed (rule D5): no result "
                                       "and no instance are included, only hashes and seat counts per site",
        "draws": draws,
        "files": listed,
        "how_to_verify": "`yidi verify-evidence FILE.zip --key <the centre's published key>` checks it offline: "
                         "every file's SHA-256; each ledger.jsonl line's hash (SHA-256 of the JSON array "
                         "[seq, ts, actor, kind, subject, payload, prev_hash], compact, UTF-8) and its RFC 9162 "
                         "inclusion proof in ledger/checkpoint.txt; the checkpoints' Ed25519 signatures and RFC 3161 "
                         "tokens; the consistency of earlier checkpoints; and replays each revealed draw. "
                         "`yidi ledger verify --evidence FILE.zip` checks the centre's current ledger against it.",
    }


def record_export(session: Session, *, who: Principal, project: Project, evidence: Evidence) -> None:
    """Ledger the export (`evidence.export`, with the manifest's SHA-256); caller commits."""
    ledger.append(session, kind="evidence.export", subject=f"project:{project.code}", actor=who.actor,
                  payload={"manifest_sha256": evidence.manifest_sha256, "ledger_entries": evidence.ledger_entries})
