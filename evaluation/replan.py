"""Re-planning after a site or room closure: find the affected projects, plan them, store the plans.

The planning itself (re-seat the affected experts jointly, else replace the fewest; S1–S4, R1, D2) is
scheduler.closure_plan; this module reads the drawn committees and stores what was planned, sealed
and ledgered.
"""

from __future__ import annotations

import copy
import json
import logging
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

import ledger
from config.clock import as_aware
from config.sealing import draw_aad, replacement_aad, seal_text, seat_aad, unseal_text
from evaluation.commitments import current_draw, draw_result
from evaluation.models import Draw, DrawProject, Project, ProjectAuxSite, ProjectExclusion, Replacement, Seat
from evaluation.project_refs import FieldError
from evaluation.replacements import expert_ref
from evaluation.service import encoded_instance, seats_per_site
from experts.models import Expert
from scheduler.closure_plan import Plan, plan_project
from scheduler.instance import canonical_bytes, sha256_hex
from venues.models import Room, Site

logger = logging.getLogger(__name__)


class ReplanInputError(FieldError):
    """Bad closure input; `field` names it (answered 422)."""


def apply_plan(session: Session, *, draw: Draw, project: Project, result: dict[str, Any], plan: Plan,
               now: datetime, actor: str) -> dict[str, Any]:
    """Store a plan: sealed seats, replacements, auxiliary sites, the sealed result and summary; flushes.

    A seat whose room changed (a kept group moved to another room of its site) is sealed anew: the
    seat's AAD names its room.
    """
    assert draw.id is not None and project.id is not None
    code = project.code
    new = copy.deepcopy(result)
    q = next(x for x in new["projects"] if x["project"] == code)
    old_seats = {s["expert"]: s for s in q["seats"]}
    new_seats = {s["expert"]: s for s in plan.seats}
    changed = {e for e, s in old_seats.items() if new_seats.get(e) != s}
    room_code = {i: c for i, c in session.exec(select(Room.id, Room.code)).all() if i is not None}
    site_id = {c: i for c, i in session.exec(select(Site.code, Site.id)).all() if i is not None}
    room_id = {c: i for i, c in room_code.items()}
    for row in session.exec(select(Seat).where(Seat.draw_id == draw.id, Seat.project_id == project.id)).all():
        holder = unseal_text(row.expert_sealed, aad=seat_aad(draw.id, code, row.need, room_code[row.room_id]))
        if holder in changed:
            session.delete(row)
    for e, s in new_seats.items():
        if e in old_seats and old_seats[e] == s:
            continue
        session.add(Seat(draw_id=draw.id, project_id=project.id, need=s["need"], site_id=site_id[s["site"]],
                         room_id=room_id[s["room"]],
                         expert_sealed=seal_text(e, aad=seat_aad(draw.id, code, s["need"], s["room"]))))
    experts = {c: i for c, i in session.exec(select(Expert.code, Expert.id).where(
        col(Expert.code).in_([r[0]["expert"] for r in plan.replaced]))).all() if i is not None}
    used = {r[1]["expert"] for r in plan.replaced}
    for gone, seat, source in plan.replaced:
        session.add(ProjectExclusion(project_id=project.id, expert_id=experts[gone["expert"]], reason="site_closed",
                                     at=now))
        session.add(Replacement(
            project_id=project.id, draw_id=draw.id, need=seat["need"], reason="site_closed", at=now,
            replaced_expert_sealed=seal_text(gone["expert"], aad=replacement_aad(code, seat["need"], "replaced", now)),
            new_expert_sealed=seal_text(seat["expert"], aad=replacement_aad(code, seat["need"], "new", now))))
        q["replaced"] = [*q.get("replaced", []), gone["expert"]]
        q.setdefault("replacements", []).append(
            {"project": code, "need": seat["need"], "replaced": gone["expert"], "replacement": seat["expert"],
             "source": source, "reason": "site_closed", "site": seat["site"], "room": seat["room"]})
    if plan.alternates is not None:
        # Re-checked against the new committee and seats (D2); the draw's shortfall notes are replaced.
        q["alternates"] = plan.alternates
        q["warnings"] = [w for w in q.get("warnings", []) if not w.startswith("D2:")] + plan.warnings
    else:
        for alt in q["alternates"]:
            alt["experts"] = [x for x in alt["experts"] if x not in used]
    q["seats"] = plan.seats
    main_code = next(c for c, i in site_id.items() if i == project.main_site_id)
    main_rooms = {s["room"] for s in plan.seats if s["site"] == main_code}
    if plan.representatives_room is not None and q.get("representatives_room"):
        q["representatives_room"] = plan.representatives_room
    elif q.get("representatives_room") and main_rooms and q["representatives_room"] not in main_rooms:
        q["representatives_room"] = sorted(main_rooms)[0]
    if plan.aux_sites is not None and plan.aux_sites != q["aux_sites"]:
        q["aux_sites"] = plan.aux_sites
        _fix_aux_sites(session, project=project, aux_codes=plan.aux_sites, site_id=site_id)
    per_site = seats_per_site(plan.seats)
    dp = session.exec(select(DrawProject).where(DrawProject.draw_id == draw.id,
                                                DrawProject.project_id == project.id)).one()
    dp.aux_sites, dp.seat_counts = q["aux_sites"], per_site
    session.add(dp)
    summary = json.loads(draw.public_summary or "{}")
    summary.setdefault(code, {})["seats_per_site"] = per_site
    if "warnings" in summary[code]:
        summary[code]["warnings"] = list(q["warnings"])  # needs and counts only, never a name (D5)
    draw.public_summary = json.dumps(summary, ensure_ascii=False, sort_keys=True)
    text = canonical_bytes(new).decode("utf-8")
    draw.sealed_result = seal_text(text, aad=draw_aad(draw.id))
    session.add(draw)
    session.flush()
    ledger.append(session, kind="draw.replan", subject=f"project:{code}", actor=actor, ts=now,
                  payload={"draw": draw.id, "moved": plan.moved, "replaced": len(plan.replaced),
                           "rooms_changed": plan.rooms_changed,  # site and room codes, seat counts: no name
                           "seats_per_site": per_site, "aux_sites": q["aux_sites"],
                           "replaced_refs": [expert_ref(result["seed"], r[0]["expert"]) for r in plan.replaced],
                           "replacement_refs": [expert_ref(result["seed"], r[1]["expert"]) for r in plan.replaced],
                           "alternates_dropped": plan.alternates_dropped, "alternates_added": plan.alternates_added,
                           "alternates_short": plan.alternates_short,
                           "result_sha256": sha256_hex(text.encode("utf-8"))})
    return new


def _fix_aux_sites(session: Session, *, project: Project, aux_codes: list[str], site_id: dict[str, int]) -> None:
    # The project's sites are now fixed by the re-plan: the export must name the same ones (S1).
    assert project.id is not None
    for row in session.exec(select(ProjectAuxSite).where(ProjectAuxSite.project_id == project.id)).all():
        session.delete(row)
    session.flush()
    session.add_all([ProjectAuxSite(project_id=project.id, site_id=site_id[c], position=i)
                     for i, c in enumerate(aux_codes)])
    project.aux_mode = "fixed"
    session.add(project)


def replan_closure(session: Session, *, site_code: str, room_code: str | None, start: datetime, end: datetime,
                   now: datetime, scope: Any = None, actor: str = "system") -> dict[str, Any]:
    """Re-plan every drawn, unfinished project overlapping the closure; returns the report; flushes."""
    if end <= start:
        raise ReplanInputError("end", "end must be after start", key="form.end_before_start")
    site = session.exec(select(Site).where(Site.code == site_code)).first()
    if site is None:
        raise ReplanInputError("site_code", f"unknown site {site_code!r}", key="venues.not_found.site", code=site_code)
    if room_code is not None:
        room = session.exec(select(Room).where(Room.code == room_code)).first()
        if room is None or room.site_id != site.id:
            raise ReplanInputError("room_code", f"room {room_code!r} is not a room of site {site_code}",
                                   key="venues.room_not_of_site", room=room_code, site=site_code)
    conds: list[Any] = [col(Project.status).in_(("drawn", "evaluating")), col(Project.start) < end,
                        col(Project.end) > start, col(Project.end) > now]
    if scope is not None:
        conds.append(scope)
    report: dict[str, Any] = {"site_code": site_code, "room_code": room_code, "start": start.isoformat(),
                              "end": end.isoformat(), "replanned": [], "blocked": [], "unaffected": 0}
    window = (int(as_aware(start).timestamp()), int(as_aware(end).timestamp()))
    for project in session.exec(select(Project).where(*conds).order_by(col(Project.start), col(Project.code))).all():
        assert project.id is not None
        draw = current_draw(session, project_id=project.id)
        if draw is None:
            continue
        result = draw_result(draw)
        codes = [q["project"] for q in result["projects"]]
        problem, ids = encoded_instance(session, project_codes=codes, with_drawn=True)
        plan = plan_project(problem, ids, result, project.code, site=site_code, room=room_code, window=window)
        if plan is None:
            report["unaffected"] += 1
        elif plan.blocked is not None:
            report["blocked"].append({"project": project.code, **plan.blocked})
        else:
            apply_plan(session, draw=draw, project=project, result=result, plan=plan, now=now, actor=actor)
            report["replanned"].append({"project": project.code, "moved": plan.moved,
                                        "replaced": len(plan.replaced), "aux_sites": plan.aux_sites,
                                        "rooms_changed": plan.rooms_changed,
                                        "seats_per_site": seats_per_site(plan.seats),
                                        "alternates_dropped": plan.alternates_dropped,
                                        "alternates_added": plan.alternates_added,
                                        "alternates_short": plan.alternates_short})
    ledger.append(session, kind="draw.replan_report", subject=f"site:{site_code}", actor=actor, ts=now,
                  payload={k: report[k] for k in ("room_code", "start", "end", "unaffected")}
                  | {"replanned": [r["project"] for r in report["replanned"]],
                     "rooms_changed": {r["project"]: [c["to_room"] for c in r["rooms_changed"]]
                                       for r in report["replanned"] if r["rooms_changed"]},
                     "blocked": [{k: b[k] for k in ("project", "need", "seats", "rules")} for b in report["blocked"]]})
    logger.info("closure of %s: %d projects re-planned, %d blocked", site_code, len(report["replanned"]),
                len(report["blocked"]))
    return report
