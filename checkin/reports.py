"""Evaluation reports and their sign-off: each expert re-verifies at the terminal and confirms the report's hash.

A report is uploaded in versions once the evaluation has started; a sign-off names one version
by its SHA-256, so a report changed after signing is visibly unsigned. Uploads and sign-offs are
ledgered with the hash, which is what an inspector later compares.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from sqlmodel import Session, col, func, select

import ledger
from access.service import Principal
from checkin.exceptions import NO_SEAT_MESSAGE, CheckinRefused
from checkin.models import Checkin, EvaluationReport, ReportPublic, Signoff, SignoffPublic
from checkin.seats import current_report, projects_in_room, seats_in_room
from checkin.service import Claim, insert_ignore, resolve, verify
from config.clock import as_aware
from evaluation.models import Project, Seat
from evaluation.statistics import local_day_bounds, local_zone

logger = logging.getLogger(__name__)


def _public(session: Session, project: Project, report: EvaluationReport) -> ReportPublic:
    seats = int(session.exec(select(func.count()).select_from(Seat).where(Seat.project_id == project.id)).one())
    signed = int(session.exec(select(func.count()).select_from(Signoff).where(Signoff.report_id == report.id)).one())
    return ReportPublic(project_code=project.code, sha256=report.sha256, size=report.size, filename=report.filename,
                        version=report.version, uploaded_at=as_aware(report.uploaded_at),
                        uploaded_by=report.uploaded_by, signed_off=signed, seats=seats)


def report_of(session: Session, *, project: Project) -> ReportPublic | None:
    """The project's current report (metadata and sign-off count), or None."""
    assert project.id is not None
    report = current_report(session, project.id)
    return _public(session, project, report) if report else None


def upload(session: Session, *, project: Project, filename: str, content: bytes, actor: str,
           now: datetime) -> ReportPublic:
    """Store a new version of the project's evaluation report (after its start) and ledger its hash."""
    assert project.id is not None
    if now < as_aware(project.start):
        raise CheckinRefused(409, "code", "report.not_started",
                             "the evaluation has not started: there is no report to sign yet")
    if not content:
        raise CheckinRefused(422, "file", "invalid", "the report file is empty")
    digest = hashlib.sha256(content).hexdigest()
    name = "".join(ch for ch in filename if ch.isprintable())[:200] or "report"
    for _ in range(5):  # two uploads at once: the one that loses the version number takes the next
        last = session.exec(select(func.max(EvaluationReport.version)).where(
            EvaluationReport.project_id == project.id)).one()
        version = int(last or 0) + 1
        if insert_ignore(session, EvaluationReport, {
                "project_id": project.id, "version": version, "sha256": digest, "size": len(content),
                "filename": name, "content": content, "uploaded_at": now, "uploaded_by": actor},
                ["project_id", "version"]):
            break
    else:
        raise CheckinRefused(409, "file", "report.busy", "the report is being uploaded elsewhere; try again")
    row = session.exec(select(EvaluationReport).where(EvaluationReport.project_id == project.id,
                                                      EvaluationReport.version == version)).one()
    ledger.append(session, kind="report.upload", subject=f"project:{project.code}", actor=actor, ts=now,
                  payload={"version": row.version, "sha256": digest, "size": row.size, "filename": name})
    logger.info("report v%d of project %s uploaded (%d bytes)", row.version, project.code, row.size)
    return _public(session, project, row)


def sign_off(session: Session, *, who: Principal, claim: Claim, id_number: str, frames: list[bytes],
             report_sha256: str, now: datetime, project_code: str | None = None) -> SignoffPublic:
    """Re-verify the expert at the terminal and record their sign-off of the report they were shown (flushes).

    `project_code` is the project whose report the terminal showed; without it, the latest started one.
    """
    v = verify(session, who=who, claim=claim, id_number=id_number, frames=frames, now=now)
    assert v.room.id is not None and v.expert.id is not None

    def refuse(status: int, field: str, kind: str, message: str, project: str | None = None) -> CheckinRefused:
        resolve(session, who=who, claim=claim, outcome=kind, failed=False, now=now, project=project)
        return CheckinRefused(status, field, kind, message)

    day_start, day_end = local_day_bounds(now.astimezone(local_zone()).date())
    started = [p for p in projects_in_room(session, room_id=v.room.id, start=day_start, end=now)]
    held = [h for h in seats_in_room(session, room=v.room, projects=started) if h.expert_code == v.expert.code]
    if project_code is not None:
        held = [h for h in held if h.project.code == project_code]
    if not held:
        raise refuse(409, "id_number", "checkin.no_seat", NO_SEAT_MESSAGE)
    project = held[-1].project  # the chosen one, else the latest started project of the day where they sit here
    assert project.id is not None
    report = current_report(session, project.id)
    if report is None:
        raise refuse(409, "report_sha256", "signoff.no_report", "no evaluation report has been uploaded yet",
                     project.code)
    if report.sha256 != report_sha256.strip().lower():
        raise refuse(409, "report_sha256", "signoff.report_changed",
                     "the report changed since it was shown; look at the new hash and sign again", project.code)
    if session.exec(select(Checkin.id).where(Checkin.project_id == project.id,
                                             Checkin.expert_id == v.expert.id)).first() is None:
        raise refuse(409, "id_number", "signoff.not_checked_in",
                     "you were not checked in for this evaluation; please ask the supervisor", project.code)
    assert report.id is not None
    # The same expert at two terminals at once: one sign-off stands, the other answers "already".
    inserted = insert_ignore(session, Signoff, {"report_id": report.id, "project_id": project.id,
                                                "expert_id": v.expert.id, "at": now, "method": "face",
                                                "by": who.actor}, ["report_id", "expert_id"])
    row = session.exec(select(Signoff).where(Signoff.report_id == report.id,
                                             Signoff.expert_id == v.expert.id)).one()
    already = not inserted
    if inserted:
        # After the start the committee is unsealed, so the sign-off names the expert.
        ledger.append(session, kind="report.signoff", subject=f"project:{project.code}", actor=who.actor, ts=now,
                      payload={"expert": v.expert.code, "sha256": report.sha256, "version": report.version,
                               "room": v.room.code, "method": "face"})
    resolve(session, who=who, claim=claim, outcome="signed_off", failed=False, now=now, project=project.code)
    return SignoffPublic(project_code=project.code, report_sha256=report.sha256, expert_name=v.expert.name,
                         signed_at=as_aware(row.at), method="face", already=already)


def signed_by(session: Session, *, report_id: int) -> list[int]:
    """Expert ids who signed off a report version."""
    return list(session.exec(select(Signoff.expert_id).where(Signoff.report_id == report_id)
                             .order_by(col(Signoff.at))).all())
