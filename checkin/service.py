"""Check-in at a room's terminal: challenge, lockout, liveness, 1:1 face match, seat check; manual check-in.

Every attempt, success or failure, is a `checkin_attempts` row and a ledger entry holding the
outcome only: never a frame, an encoding, a distance or the ID number. While a committee is
sealed the ledger names the expert by a keyed reference (HMAC with the server secret), so reading
the ledger before the start does not reveal who sits where (D5).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, func, select

import ledger
from access.service import Principal
from checkin import challenge as challenges
from checkin import liveness
from checkin.exceptions import LOCKED_MESSAGE, NO_SEAT_MESSAGE, UNKNOWN_MESSAGE, CheckinRefused
from checkin.models import ChallengePublic, Checkin, CheckinAttempt, CheckinPublic, ManualCheckin
from checkin.seats import SeatHeld, open_for_checkin
from config.clock import as_aware
from config.keys import secret_key
from config.settings import get_settings
from evaluation.models import Project
from experts import enrolment, identity
from experts.models import Expert
from venues.models import Room, Site

logger = logging.getLogger(__name__)


def expert_ref(code: str, *, salt: str) -> str:
    """A keyed, salted reference to an expert for the ledger (opaque to readers; the service can recompute it).

    The salt (the project's code, or the attempt's challenge nonce) keeps references of one expert in
    different projects or attempts unlinkable, so an unsealed project's entries cannot be matched with
    a still-sealed one's (D5).
    """
    return hmac.new(secret_key(), f"expert:{salt}:{code}".encode(), hashlib.sha256).hexdigest()[:24]


def by_id_number(session: Session, id_number: str) -> Expert | None:
    """The expert holding this ID number; stored values are compared normalised (rows from before normalising)."""
    wanted = challenges.normalise_id(id_number)
    if not wanted:
        return None
    stored = func.upper(func.replace(func.replace(Expert.id_number, " ", ""), "-", ""))
    return session.exec(select(Expert).where(col(Expert.id_number).is_not(None), stored == wanted)).first()


def _terminal_room(session: Session, who: Principal) -> Room:
    room = session.get(Room, who.room_id) if who.room_id is not None else None
    if room is None:
        raise CheckinRefused(409, "authorization", "checkin.no_room", "this terminal account is not bound to a room")
    return room


def _failures(session: Session, *, since: datetime, exclude: int | None, **where: int) -> int:
    stmt = select(func.count()).select_from(CheckinAttempt).where(col(CheckinAttempt.failed),
                                                                  CheckinAttempt.at >= since)
    if exclude is not None:
        stmt = stmt.where(CheckinAttempt.id != exclude)
    for field, value in where.items():
        stmt = stmt.where(getattr(CheckinAttempt, field) == value)
    return int(session.exec(stmt).one())


def locked(session: Session, *, who: Principal, expert: Expert | None, now: datetime,
           exclude: int | None = None) -> bool:
    """Whether this terminal (or desk user), or this expert, failed too often within the last lockout window.

    Attempts still being judged count as failures, so attempts sent in parallel cannot outrun the lockout.
    """
    s = get_settings()
    since = now - timedelta(minutes=s.checkin_lockout_minutes)
    if _failures(session, since=since, exclude=exclude, terminal_user_id=who.user_id) >= \
            s.checkin_terminal_max_failures:
        return True
    return expert is not None and expert.id is not None and \
        _failures(session, since=since, exclude=exclude, expert_id=expert.id) >= s.checkin_max_failures


def _locked_error() -> CheckinRefused:
    return CheckinRefused(429, "id_number", "checkin.locked",
                          LOCKED_MESSAGE.format(minutes=get_settings().checkin_lockout_minutes))


def challenge(session: Session, *, who: Principal, id_number: str, purpose: str, now: datetime) -> ChallengePublic:
    """A head-turn challenge for the ID number entered at this terminal (issued for any ID number)."""
    _terminal_room(session, who)
    if locked(session, who=who, expert=by_id_number(session, id_number), now=now):
        raise _locked_error()
    return challenges.issue(user_id=who.user_id, id_number=id_number, purpose=purpose, now=now)


def _ledger(session: Session, *, who: Principal, room: Room | None, expert: Expert | None, purpose: str,
            outcome: str, now: datetime, salt: str, project: str | None) -> None:
    ledger.append(session, kind=f"{purpose}.attempt", subject=f"room:{room.code if room else '-'}", actor=who.actor,
                  ts=now, payload={"outcome": outcome, "expert_ref": expert_ref(expert.code, salt=salt)
                                   if expert else None, "project": project})
    logger.info("%s attempt at room %s: %s", purpose, room.code if room else "-", outcome)


def record(session: Session, *, who: Principal, room: Room | None, expert: Expert | None, purpose: str,
           outcome: str, failed: bool, now: datetime, project: str | None = None) -> None:
    """Write one finished attempt without a challenge (row and ledger entry, outcome only); caller commits."""
    session.add(CheckinAttempt(at=now, terminal_user_id=who.user_id, room_id=room.id if room else None,
                               expert_id=expert.id if expert else None, purpose=purpose, outcome=outcome[:48],
                               failed=failed))
    session.flush()
    _ledger(session, who=who, room=room, expert=expert, purpose=purpose, outcome=outcome, now=now,
            salt=secrets.token_hex(8), project=project)


@dataclass(frozen=True)
class Claim:
    """A challenge claimed by an attempt row (pending, counted as failed until resolved)."""

    attempt_id: int
    nonce: str
    direction: liveness.Direction
    purpose: str


def begin(session: Session, *, who: Principal, token: str, id_number: str, purpose: str, now: datetime) -> Claim:
    """Check the challenge and claim its nonce with a pending attempt row; the caller commits at once.

    The unique nonce makes a replayed challenge fail here, before any face is judged, even when both
    requests arrive together. A refused token counts against the terminal only, never the expert, so
    nobody can lock an expert out without showing a face.
    """
    room = _terminal_room(session, who)
    try:
        spent = challenges.read(token, user_id=who.user_id, id_number=id_number, purpose=purpose, now=now)
    except CheckinRefused as exc:
        record(session, who=who, room=room, expert=None, purpose=purpose, outcome=exc.kind, failed=True, now=now)
        raise
    expert = by_id_number(session, id_number)
    row = CheckinAttempt(at=now, terminal_user_id=who.user_id, room_id=room.id, expert_id=expert.id if expert else None,
                         purpose=purpose, outcome="pending", failed=True, nonce=spent.nonce)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        record(session, who=who, room=room, expert=None, purpose=purpose, outcome="checkin.challenge", failed=True,
               now=now)
        raise challenges.challenge_invalid("this challenge was already used; start again") from None
    assert row.id is not None
    return Claim(attempt_id=row.id, nonce=spent.nonce, direction=spent.direction, purpose=purpose)


def resolve(session: Session, *, who: Principal, claim: Claim, outcome: str, failed: bool, now: datetime,
            project: str | None = None) -> None:
    """Settle a claimed attempt with its outcome and ledger it (caller commits)."""
    row = session.get(CheckinAttempt, claim.attempt_id)
    assert row is not None
    row.outcome, row.failed = outcome[:48], failed
    session.add(row)
    expert = session.get(Expert, row.expert_id) if row.expert_id is not None else None
    room = session.get(Room, row.room_id) if row.room_id is not None else None
    _ledger(session, who=who, room=room, expert=expert, purpose=claim.purpose, outcome=outcome, now=now,
            salt=claim.nonce, project=project)


@dataclass(frozen=True)
class Verified:
    """A person verified at a terminal: the expert, the room and the claimed attempt."""

    expert: Expert
    room: Room
    claim: Claim


def _decode(frames: list[bytes]) -> list[np.ndarray]:
    s = get_settings()
    if not s.liveness_min_frames <= len(frames) <= s.liveness_max_frames:
        raise CheckinRefused(422, "frames", "checkin.frames",
                             f"send between {s.liveness_min_frames} and {s.liveness_max_frames} frames")
    # A frame may be at most twice the width the page was told to send (in both directions): a 24 MP
    # photo limit would let one request hold gigabytes of pixels.
    cap = min(s.face_max_pixels, (2 * s.checkin_frame_max_width) ** 2)
    frame_settings = s.model_copy(update={"face_max_pixels": cap})
    out = []
    for n, data in enumerate(frames, start=1):
        try:
            out.append(identity.decode_image(data, settings=frame_settings))
        except identity.FaceError as exc:
            raise CheckinRefused(422, "frames", f"checkin.face.{exc.code}", f"frame {n}: {exc}") from None
    return out


def _match(reference: np.ndarray, frames: list[np.ndarray], result: liveness.LivenessResult) -> None:
    probe = result.frontal_encoding  # computed by the judge on the frontal frame
    if probe is None:
        index = result.frontal_index if result.frontal_index is not None else 0
        try:
            probe = identity.encode_single_face(frames[index])
        except identity.FaceError as exc:
            raise CheckinRefused(422, "frames", f"checkin.face.{exc.code}", str(exc)) from None
    if not identity.compare(reference, probe).match:
        raise CheckinRefused(422, "frames", "checkin.face.no_match",
                             "the face does not match the enrolled face of this ID number")


def verify(session: Session, *, who: Principal, claim: Claim, id_number: str, frames: list[bytes],
           now: datetime) -> Verified:
    """Lockout, liveness and the 1:1 match for a claimed attempt; a failure is resolved, then CheckinRefused."""
    room = _terminal_room(session, who)
    expert = by_id_number(session, id_number)
    try:
        if locked(session, who=who, expert=expert, now=now, exclude=claim.attempt_id):
            raise _locked_error()
        reference = enrolment.reference(session, expert_id=expert.id) if expert and expert.id else None
        if expert is None or reference is None:
            raise CheckinRefused(422, "id_number", "checkin.unknown", UNKNOWN_MESSAGE)
        decoded = _decode(frames)
        result = liveness.judge(decoded, direction=claim.direction)
        if not result.passed:
            raise CheckinRefused(422, "frames", f"checkin.liveness.{result.code}", result.message)
        _match(reference, decoded, result)
    except CheckinRefused as exc:
        resolve(session, who=who, claim=claim, outcome=exc.kind, failed=exc.kind != "checkin.locked", now=now)
        raise
    return Verified(expert=expert, room=room, claim=claim)


def _answer(session: Session, held: SeatHeld, row: Checkin, expert: Expert, already: bool) -> CheckinPublic:
    site = session.get(Site, held.seat.site_id)
    room = session.get(Room, held.seat.room_id)
    return CheckinPublic(project_code=held.project.code, room_code=room.code if room else "",
                         site_code=site.code if site else "", expert_name=expert.name,
                         checked_in_at=as_aware(row.at), method="face" if row.method == "face" else "manual",
                         already=already)


def insert_ignore(session: Session, model: type[SQLModel], values: dict[str, object], keys: list[str]) -> bool:
    """Insert a row unless one with the same unique keys exists (two terminals at once); True when inserted."""
    stmt: Any
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(model).values(**values).on_conflict_do_nothing(index_elements=keys)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(model).values(**values).on_conflict_do_nothing(index_elements=keys)
    # RETURNING tells whether this statement inserted (psycopg reports no row count for ON CONFLICT).
    return session.execute(stmt.returning(model.__table__.c.id)).first() is not None  # type: ignore[attr-defined]


def _check_in(session: Session, *, expert: Expert, room: Room, method: str, by: str, now: datetime,
              reason: str | None = None) -> tuple[SeatHeld, Checkin, bool] | None:
    held = [h for h in open_for_checkin(session, room=room, now=now) if h.expert_code == expert.code]
    if not held:
        return None
    first: tuple[SeatHeld, Checkin, bool] | None = None
    for h in held:  # an expert may sit twice in a room's morning (two short projects): check in to each
        project: Project = h.project
        assert project.id is not None and expert.id is not None and room.id is not None
        inserted = insert_ignore(session, Checkin, {
            "project_id": project.id, "expert_id": expert.id, "room_id": room.id, "at": now, "method": method,
            "by": by, "reason": reason}, ["project_id", "expert_id"])
        row = session.exec(select(Checkin).where(Checkin.project_id == project.id,
                                                 Checkin.expert_id == expert.id)).one()
        if inserted:
            ledger.append(session, kind="checkin.checked_in", subject=f"project:{project.code}", actor=by, ts=now,
                          payload={"room": room.code, "method": method,
                                   "expert_ref": expert_ref(expert.code, salt=project.code), "reason": reason})
        first = first or (h, row, not inserted)
    return first


def check_in(session: Session, *, who: Principal, claim: Claim, id_number: str, frames: list[bytes],
             now: datetime) -> CheckinPublic:
    """Verify the person at the terminal and check them in to their seat in this room (flushes, never commits)."""
    v = verify(session, who=who, claim=claim, id_number=id_number, frames=frames, now=now)
    done = _check_in(session, expert=v.expert, room=v.room, method="face", by=who.actor, now=now)
    if done is None:
        resolve(session, who=who, claim=claim, outcome="checkin.no_seat", failed=False, now=now)
        raise CheckinRefused(409, "id_number", "checkin.no_seat", NO_SEAT_MESSAGE)
    held, row, already = done
    resolve(session, who=who, claim=claim, outcome="checked_in", failed=False, now=now, project=held.project.code)
    return _answer(session, held, row, v.expert, already)


BEFORE_START_MANUAL = ("before the start, check the expert in by the ID number on their card: an expert code would "
                       "let anyone probe the sealed committee (D5)")


def manual_check_in(session: Session, *, who: Principal, room: Room, data: ManualCheckin,
                    now: datetime) -> CheckinPublic:
    """A supervisor checks an expert in by ID number (or, after the start, expert code) with a reason (flushes).

    Every try, refused or not, is an attempt row and a ledger entry; refusals count towards the
    supervisor's lockout like a terminal's failures.
    """
    if (data.id_number is None) == (data.expert_code is None):
        raise CheckinRefused(422, "id_number", "invalid", "give exactly one of id_number and expert_code")
    field = "id_number" if data.id_number is not None else "expert_code"
    if locked(session, who=who, expert=None, now=now):
        raise _locked_error()

    def refuse(status: int, kind: str, message: str, expert: Expert | None = None) -> CheckinRefused:
        record(session, who=who, room=room, expert=expert, purpose="manual", outcome=kind, failed=True, now=now)
        return CheckinRefused(status, field, kind, message)

    if data.expert_code is not None and any(as_aware(h.project.start) > now
                                            for h in open_for_checkin(session, room=room, now=now)):
        raise refuse(422, "checkin.manual_code_sealed", BEFORE_START_MANUAL)
    if data.id_number is not None:
        expert = by_id_number(session, data.id_number)
    else:
        expert = session.exec(select(Expert).where(Expert.code == data.expert_code)).first()
    if expert is None:
        raise refuse(404, "not_found", f"no expert with this {field.replace('_', ' ')}")
    done = _check_in(session, expert=expert, room=room, method="manual", by=who.actor, now=now, reason=data.reason)
    if done is None:
        raise refuse(409, "checkin.no_seat",
                     "this expert holds no seat in this room for an evaluation open for check-in now", expert)
    held, row, already = done
    record(session, who=who, room=room, expert=expert, purpose="manual", outcome="checked_in", failed=False, now=now,
           project=held.project.code)
    return _answer(session, held, row, expert, already)
