"""What a project page shows of its notifications and replacements, counts only before the start (D5).

The outbox summary never names an expert; the replacements history lists each replacement's time,
specialty and reason, and the names only once the committee has been unsealed after the start.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session, col, select

from api.pages.common import aware
from config.sealing import replacement_aad, unseal_text
from evaluation import invitations
from evaluation.models import Project, Replacement

logger = logging.getLogger(__name__)


def notification_panel(session: Session, *, draw_ids: list[int], code: str) -> dict[int, dict[str, Any]]:
    """Per draw, the outbox counts of project `code` (by status and channel; confirmed/declined/pending)."""
    out = {}
    for draw_id in draw_ids:
        summary = invitations.draw_summary(session, draw_id=draw_id, project_codes=[code])
        out[draw_id] = {**summary, "answers": summary["projects"].get(code, {})}
    return out


def replacement_history(session: Session, *, project: Project, named: bool) -> list[dict[str, Any]]:
    """The project's replacements by time; expert codes only when `named` (after the unsealing)."""
    rows = session.exec(select(Replacement).where(Replacement.project_id == project.id)
                        .order_by(col(Replacement.at), col(Replacement.id))).all()
    out = []
    for r in rows:
        item: dict[str, Any] = {"at": r.at, "need": r.need, "reason": r.reason, "old": None, "new": None}
        if named:
            at = aware(r.at)
            item["old"] = unseal_text(r.replaced_expert_sealed,
                                      aad=replacement_aad(project.code, r.need, "replaced", at))
            if r.new_expert_sealed is not None:
                item["new"] = unseal_text(r.new_expert_sealed, aad=replacement_aad(project.code, r.need, "new", at))
        out.append(item)
    return out
