"""Replacing one expert of a drawn committee (R1, R2) and the seed-salted references the ledger keeps (D5)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

import ledger
from config.clock import as_aware
from config.sealing import draw_aad, replacement_aad, seal_text, seat_aad, unseal_text
from evaluation.commitments import draw_result
from evaluation.export import export_instance
from evaluation.models import Draw, Project, ProjectExclusion, Replacement, Seat
from evaluation.service import DrawNotFound, deployment_rules
from experts.models import Expert
from scheduler.instance import canonical_bytes, sha256_hex
from scheduler.replace import replace_seat
from venues.models import Room, Site

BEFORE_START_REPLACEMENT = (
    "before the evaluation starts the committee is sealed (D5): naming an expert here would tell whether they "
    "sit on it. Until the start, replacements come from the expert's own decline link, the bid-opening re-check "
    "and closure re-planning; replacement by expert code opens at the start")


def replacement_by_code_open(session: Session, *, project_code: str, now: datetime) -> bool:
    """Whether a coordinator may name an expert to replace: only once the project has started (D5)."""
    start = session.exec(select(Project.start).where(Project.code == project_code)).first()
    return start is not None and as_aware(start) <= now


def expert_ref(seed: str, expert: str) -> str:
    """A seed-salted ledger reference to an expert: reveals nothing before the seed's reveal, checkable after."""
    return hashlib.sha256(f"{seed}:{expert}".encode()).hexdigest()


def replace(
    session: Session, *, draw_id: int, project_code: str, expert_code: str, reason: str, now: datetime,
    actor: str = "system", commit: bool = True,
) -> dict[str, Any]:
    """Replace one expert of a drawn project (R1) and record it (R2); returns the record.

    `commit=False` only flushes, for a caller whose transaction must hold several changes (a job).
    """
    row = session.get(Draw, draw_id)
    if row is None or row.sealed_result is None:
        raise DrawNotFound(draw_id)
    result = draw_result(row)
    codes = [p["project"] for p in result["projects"]]
    doc = export_instance(session, project_codes=codes, rules=deployment_rules().as_json(), with_drawn=True)
    new_result, record = replace_seat(doc, result, project=project_code, expert=expert_code, reason=reason,
                                      base_rules=deployment_rules())
    project = session.exec(select(Project).where(Project.code == project_code)).one()
    expert = session.exec(select(Expert).where(Expert.code == expert_code)).one()
    assert project.id is not None and expert.id is not None and row.id is not None
    session.add(ProjectExclusion(project_id=project.id, expert_id=expert.id, reason=reason, at=now))
    for seat in session.exec(select(Seat).where(Seat.draw_id == row.id, Seat.project_id == project.id)).all():
        room = session.get(Room, seat.room_id)
        assert room is not None
        if unseal_text(seat.expert_sealed, aad=seat_aad(row.id, project_code, seat.need, room.code)) == expert_code:
            session.delete(seat)
    site = session.exec(select(Site).where(Site.code == record["site"])).one()
    room = session.exec(select(Room).where(Room.code == record["room"])).one()
    assert site.id is not None and room.id is not None
    session.add(Seat(draw_id=row.id, project_id=project.id, need=record["need"], site_id=site.id, room_id=room.id,
                     expert_sealed=seal_text(record["replacement"],
                                             aad=seat_aad(row.id, project_code, record["need"], room.code))))
    session.add(Replacement(project_id=project.id, draw_id=row.id, need=record["need"], reason=reason, at=now,
                            replaced_expert_sealed=seal_text(expert_code, aad=replacement_aad(
                                project_code, record["need"], "replaced", now)),
                            new_expert_sealed=seal_text(record["replacement"], aad=replacement_aad(
                                project_code, record["need"], "new", now))))
    text = canonical_bytes(new_result).decode("utf-8")
    row.sealed_result = seal_text(text, aad=draw_aad(row.id))
    session.add(row)
    ledger.append(session, kind="draw.replace", subject=f"project:{project_code}", actor=actor, ts=now,
                  payload={"draw": row.id, "need": record["need"], "reason": reason, "source": record["source"],
                           "site": record["site"], "replaced_ref": expert_ref(result["seed"], expert_code),
                           "replacement_ref": expert_ref(result["seed"], record["replacement"]),
                           "result_sha256": sha256_hex(text.encode("utf-8"))})
    if commit:
        session.commit()
    else:
        session.flush()
    return record
