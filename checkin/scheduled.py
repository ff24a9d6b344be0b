"""The check-in deadline hook: every seat holder not checked in by start + grace is replaced (R1/R2).

Registered with `evaluation.scheduled.register_checkin_deadline_hook` by the app; it runs inside the
deadline job's transaction (the job claims each project once, so no-shows are replaced once).
Replacements come from the draw's alternates, else a fresh uniform draw (evaluation.service.replace),
and are invited like any replacement.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, select

import ledger
from checkin.models import Checkin
from checkin.service import expert_ref
from config.settings import get_settings
from evaluation import invitations, replacements
from evaluation.models import Project
from experts.models import Expert
from scheduler.exceptions import ReplacementError
from venues.models import Site

logger = logging.getLogger(__name__)
ACTOR = "scheduler"


def replace_no_shows(session: Session, *, project: Project, now: datetime) -> None:
    """Replace the project's seat holders who did not check in; ledger a summary (never commits)."""
    assert project.id is not None
    holders = invitations.seat_holders(session, project_ids=[project.id])
    present = set(session.exec(select(Expert.code).join(Checkin, col(Checkin.expert_id) == col(Expert.id))
                               .where(Checkin.project_id == project.id)).all())
    absent = [h for h in holders if h.expert_code not in present]
    replaced = unfilled = 0
    if get_settings().checkin_replace_no_shows:
        for holder in absent:
            try:
                # replace() decides (and may refuse) before it writes anything, so a refusal leaves no trace.
                rec = replacements.replace(session, draw_id=holder.draw_id, project_code=project.code,
                                           expert_code=holder.expert_code, reason="failed_check_in", now=now,
                                           actor=ACTOR, commit=False)
            except ReplacementError as exc:
                unfilled += 1
                logger.warning("project %s: a no-show could not be replaced: %s", project.code, exc)
                continue
            replaced += 1
            site = session.exec(select(Site).where(Site.code == rec["site"])).one()
            new = invitations.SeatHolder(draw_id=holder.draw_id, project=project, site=site,
                                            room_code=rec["room"], expert_code=rec["replacement"])
            invitations.notify_seat(session, holder=new, kind="replacement", now=now)
    ledger.append(session, kind="checkin.deadline", subject=f"project:{project.code}", actor=ACTOR, ts=now,
                  payload={"project": project.code, "seats": len(holders), "checked_in": len(holders) - len(absent),
                           "no_shows": [expert_ref(h.expert_code, salt=project.code) for h in absent],
                           "replaced": replaced,
                           "unfilled": unfilled, "replacing": get_settings().checkin_replace_no_shows})
    logger.info("check-in deadline of %s: %d seats, %d absent, %d replaced, %d unfilled", project.code,
                len(holders), len(absent), replaced, unfilled)
