"""Check-in service on both databases: face check-in, challenges, lockout, seats, manual, sign-off, no-shows."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

import ledger
from checkin import challenge as challenges
from checkin import reports, service
from checkin.exceptions import CheckinRefused
from checkin.models import Checkin, CheckinAttempt, ManualCheckin, Signoff
from checkin.scheduled import replace_no_shows
from config.settings import get_settings
from evaluation.models import Project, Replacement
from notify.models import Notification
from tests.checkin.checkin_support import (
    ID_NUMBER,
    IN_WINDOW,
    OTHER_ID,
    START,
    frame,
    liveness_fails,
    liveness_passes,
    need_faces,
    prepare,
)
from tests.experts.test_identity import FACES
from venues.models import Room

pytestmark = need_faces


def _attempt(session: Session, room: object, frames: list[bytes], *, id_number: str = ID_NUMBER,
             now: object = IN_WINDOW, token: str | None = None) -> object:
    who = room.terminal  # type: ignore[attr-defined]
    tok = token or service.challenge(session, who=who, id_number=id_number, purpose="checkin", now=now).token
    claim = service.begin(session, who=who, token=tok, id_number=id_number, purpose="checkin", now=now)  # type: ignore[arg-type]
    session.commit()  # as the route does: the claim lands before the judgement
    return service.check_in(session, who=who, claim=claim, id_number=id_number, frames=frames, now=now)  # type: ignore[arg-type]


def _refusal(session: Session, fn: object) -> CheckinRefused:
    with pytest.raises(CheckinRefused) as info:
        fn()  # type: ignore[operator]
    session.commit()  # as the route does: the failed attempt stays
    return info.value


def test_face_check_in_names_nobody_in_the_ledger_before_the_start(session: Session,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    room = prepare(session)
    liveness_passes(monkeypatch)
    got = _attempt(session, room, [frame("obama_3.jpg")] * 6)
    session.commit()
    assert got.project_code == "P1" and got.room_code == room.room_code and got.method == "face"  # type: ignore[attr-defined]
    assert got.already is False  # type: ignore[attr-defined]
    again = _attempt(session, room, [frame("obama_3.jpg")] * 6, id_number=" 370102 19800101001x ")
    session.commit()
    assert again.already is True  # type: ignore[attr-defined]
    assert len(session.exec(select(Checkin)).all()) == 1
    entries = ledger.entries(session, kind_prefix="checkin.")
    assert [e.kind for e in entries].count("checkin.checked_in") == 1
    text = " ".join(e.payload + e.subject for e in entries)
    assert room.expert not in text and ID_NUMBER not in text and service.expert_ref(room.expert, salt="P1") in text


def test_another_face_is_refused_then_the_id_locks_out(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    room = prepare(session)
    liveness_passes(monkeypatch)
    monkeypatch.setattr(get_settings(), "checkin_max_failures", 2)
    for _ in range(2):
        err = _refusal(session, lambda: _attempt(session, room, [frame("biden_1.jpg")] * 6))
        assert (err.status, err.field, err.kind) == (422, "frames", "checkin.face.no_match")
    # Locked: even the right face is refused, at the challenge and at an attempt with an earlier token.
    err = _refusal(session, lambda: service.challenge(session, who=room.terminal, id_number=ID_NUMBER,
                                                      purpose="checkin", now=IN_WINDOW))
    assert (err.status, err.kind) == (429, "checkin.locked")
    assert session.exec(select(Checkin)).all() == []
    # Another ID at the same terminal is not locked; the lock lifts after the window.
    service.challenge(session, who=room.terminal, id_number=OTHER_ID, purpose="checkin", now=IN_WINDOW)
    later = IN_WINDOW + timedelta(minutes=get_settings().checkin_lockout_minutes + 1)
    assert _attempt(session, room, [frame("obama_3.jpg")] * 6, now=later).project_code == "P1"  # type: ignore[attr-defined]


def test_challenges_are_single_use_bound_and_expire(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    room = prepare(session)
    liveness_passes(monkeypatch)
    frames = [frame("obama_3.jpg")] * 6
    tok = service.challenge(session, who=room.terminal, id_number=ID_NUMBER, purpose="checkin", now=IN_WINDOW).token
    _attempt(session, room, frames, token=tok)
    session.commit()
    for bad in (lambda: _attempt(session, room, frames, token=tok),  # used
                lambda: _attempt(session, room, frames, token=tok + "x"),  # forged
                lambda: _attempt(session, room, frames, token=challenges.issue(
                    user_id=room.terminal.user_id, id_number=OTHER_ID, purpose="checkin", now=IN_WINDOW).token),
                lambda: _attempt(session, room, frames, token=challenges.issue(
                    user_id=room.terminal.user_id, id_number=ID_NUMBER, purpose="signoff", now=IN_WINDOW).token),
                lambda: _attempt(session, room, frames, now=IN_WINDOW + timedelta(seconds=1), token=challenges.issue(
                    user_id=room.terminal.user_id, id_number=ID_NUMBER, purpose="checkin",
                    now=IN_WINDOW - timedelta(seconds=get_settings().checkin_challenge_seconds)).token)):
        err = _refusal(session, bad)
        assert (err.status, err.field, err.kind) == (422, "token", "checkin.challenge")
    assert session.exec(select(CheckinAttempt).where(col(CheckinAttempt.failed))).all()


def test_unknown_and_unenrolled_ids_get_the_same_answer(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    room = prepare(session, enrol=False)
    liveness_passes(monkeypatch)
    errs = [_refusal(session, lambda i=i: _attempt(session, room, [frame("obama_3.jpg")] * 6, id_number=i))
            for i in ("999999999999999999", ID_NUMBER)]
    assert {(e.status, e.field, e.kind, str(e)) for e in errs} == {
        (422, "id_number", "checkin.unknown", str(errs[0]))}


def test_liveness_failure_and_bad_frames_are_refused(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    room = prepare(session)
    liveness_fails(monkeypatch, "no_turn")
    err = _refusal(session, lambda: _attempt(session, room, [frame("obama_3.jpg")] * 6))
    assert (err.status, err.field, err.kind) == (422, "frames", "checkin.liveness.no_turn")
    liveness_passes(monkeypatch)
    err = _refusal(session, lambda: _attempt(session, room, [frame("obama_3.jpg")] * 2))
    assert (err.field, err.kind) == ("frames", "checkin.frames")
    err = _refusal(session, lambda: _attempt(session, room, [frame("obama_3.jpg")[:500]] * 6))
    assert (err.field, err.kind) == ("frames", "checkin.face.unreadable")
    outcomes = [a.outcome for a in session.exec(select(CheckinAttempt).order_by(col(CheckinAttempt.id))).all()]
    assert outcomes == ["checkin.liveness.no_turn", "checkin.frames", "checkin.face.unreadable"]


def test_a_verified_person_without_a_seat_here_is_told_and_not_counted(session: Session,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    room = prepare(session)
    liveness_passes(monkeypatch)
    err = _refusal(session, lambda: _attempt(session, room, [frame("biden_2.jpg")] * 6, id_number=OTHER_ID))
    assert (err.status, err.kind) == (409, "checkin.no_seat")
    too_early = START - timedelta(minutes=get_settings().checkin_open_minutes + 1)
    err = _refusal(session, lambda: _attempt(session, room, [frame("obama_3.jpg")] * 6, now=too_early))
    assert (err.status, err.kind) == (409, "checkin.no_seat")
    assert session.exec(select(CheckinAttempt).where(col(CheckinAttempt.failed))).all() == []


def test_manual_check_in_needs_a_reason_and_a_seat(session: Session) -> None:
    room = prepare(session, enrol=False)
    from access.models import User
    from access.service import principal

    sup = principal(session, session.exec(select(User).where(User.username == "super")).one())
    r1 = session.exec(select(Room).where(Room.code == room.room_code)).one()
    # Before the start an expert code is refused (it would probe the sealed committee); the ID number works.
    err = _refusal(session, lambda: service.manual_check_in(
        session, who=sup, room=r1, now=IN_WINDOW,
        data=ManualCheckin(room_code=room.room_code, expert_code=room.expert, reason="camera broken")))
    assert (err.status, err.field, err.kind) == (422, "expert_code", "checkin.manual_code_sealed")
    data = ManualCheckin(room_code=room.room_code, id_number=ID_NUMBER.lower(),
                         reason="  camera broken, ID card checked ")
    got = service.manual_check_in(session, who=sup, room=r1, data=data, now=IN_WINDOW)
    session.commit()
    assert got.method == "manual" and got.already is False
    row = session.exec(select(Checkin)).one()
    assert row.by == "user:super" and row.reason == "camera broken, ID card checked"
    err = _refusal(session, lambda: service.manual_check_in(
        session, who=sup, room=r1, now=IN_WINDOW,
        data=ManualCheckin(room_code=room.room_code, id_number=OTHER_ID, reason="no face enrolled")))
    assert (err.status, err.field, err.kind) == (409, "id_number", "checkin.no_seat")
    err = _refusal(session, lambda: service.manual_check_in(
        session, who=sup, room=r1, now=IN_WINDOW,
        data=ManualCheckin(room_code=room.room_code, id_number=OTHER_ID, expert_code=room.expert, reason="both")))
    assert err.status == 422
    tries = session.exec(select(CheckinAttempt).where(CheckinAttempt.purpose == "manual")).all()
    assert [(t.outcome, t.failed) for t in tries] == [("checkin.manual_code_sealed", True), ("checked_in", False),
                                                      ("checkin.no_seat", True)]
    with pytest.raises(ValueError):
        ManualCheckin(room_code=room.room_code, id_number=OTHER_ID, reason="     a")


def test_sign_off_names_the_report_hash_and_follows_new_versions(session: Session,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    room = prepare(session)
    liveness_passes(monkeypatch)
    project = session.exec(select(Project).where(Project.code == "P1")).one()
    err = _refusal(session, lambda: reports.upload(session, project=project, filename="r.pdf", content=b"%PDF v1",
                                                   actor="user:coord", now=IN_WINDOW))
    assert err.kind == "report.not_started"
    during = START + timedelta(hours=1)
    v1 = reports.upload(session, project=project, filename="r.pdf", content=b"%PDF v1", actor="user:coord", now=during)
    session.commit()

    def sign(sha: str) -> object:
        tok = service.challenge(session, who=room.terminal, id_number=ID_NUMBER, purpose="signoff", now=during).token
        claim = service.begin(session, who=room.terminal, token=tok, id_number=ID_NUMBER, purpose="signoff",
                              now=during)
        session.commit()
        return reports.sign_off(session, who=room.terminal, claim=claim, id_number=ID_NUMBER,
                                frames=[frame("obama_3.jpg")] * 6, report_sha256=sha, now=during)

    err = _refusal(session, lambda: sign(v1.sha256))
    assert (err.status, err.kind) == (409, "signoff.not_checked_in")
    _attempt(session, room, [frame("obama_3.jpg")] * 6)
    session.commit()
    got = sign(v1.sha256.upper())
    session.commit()
    assert got.report_sha256 == v1.sha256 and got.already is False  # type: ignore[attr-defined]
    v2 = reports.upload(session, project=project, filename="r.pdf", content=b"%PDF v2", actor="user:coord", now=during)
    session.commit()
    assert v2.version == 2 and v2.signed_off == 0 and reports.report_of(session, project=project) == v2
    err = _refusal(session, lambda: sign(v1.sha256))
    assert (err.status, err.field, err.kind) == (409, "report_sha256", "signoff.report_changed")
    sign(v2.sha256)
    session.commit()
    assert len(session.exec(select(Signoff)).all()) == 2
    signed = [json.loads(e.payload)["sha256"] for e in ledger.entries(session, kind_prefix="report.signoff")]
    assert signed == [v1.sha256, v2.sha256]


@pytest.mark.parametrize("replacing", [True, False])
def test_no_shows_are_replaced_at_the_deadline(session: Session, monkeypatch: pytest.MonkeyPatch,
                                               replacing: bool) -> None:
    room = prepare(session, enrol=False)
    monkeypatch.setattr(get_settings(), "checkin_replace_no_shows", replacing)
    from access.models import User
    from access.service import principal

    sup = principal(session, session.exec(select(User).where(User.username == "super")).one())
    r1 = session.exec(select(Room).where(Room.code == room.room_code)).one()
    service.manual_check_in(session, who=sup, room=r1, now=IN_WINDOW,
                            data=ManualCheckin(room_code=room.room_code, id_number=ID_NUMBER, reason="at the desk"))
    session.commit()
    project = session.exec(select(Project).where(Project.code == "P1")).one()
    deadline = START + timedelta(minutes=get_settings().checkin_grace_minutes)
    replace_no_shows(session, project=project, now=deadline)
    session.commit()
    from evaluation.invitations import seat_holders

    assert project.id is not None
    holders = {h.expert_code for h in seat_holders(session, project_ids=[project.id])}
    summary = json.loads(ledger.entries(session, kind_prefix="checkin.deadline")[-1].payload)
    absent = summary["seats"] - summary["checked_in"]
    assert summary["checked_in"] == 1 and absent >= 1 and room.expert in holders
    replaced = session.exec(select(Replacement).where(Replacement.reason == "failed_check_in")).all()
    invited = session.exec(select(Notification).where(Notification.kind == "replacement")).all()
    if replacing:
        assert summary["replaced"] + summary["unfilled"] == absent and len(replaced) == summary["replaced"] >= 1
        assert len(holders) == summary["seats"] - summary["unfilled"]
        assert room.expert not in summary["no_shows"] and len(invited) <= summary["replaced"]
    else:
        assert replaced == [] and summary["replaced"] == 0 and invited == []


@pytest.mark.parametrize("asked", ["left", "right"])
def test_the_real_judge_admits_a_turn_as_asked_and_refuses_a_still_photo(
        session: Session, monkeypatch: pytest.MonkeyPatch, asked: str) -> None:
    """No stand-in: the challenge's direction, the liveness judge and the 1:1 match on synthetic camera frames."""
    from checkin import liveness
    from tests.experts.face_support import camera_frame, head_turn_frames, jpeg_bytes, load_rgb, static_frames

    room = prepare(session)
    monkeypatch.setattr(liveness, "choose_direction", lambda: asked)
    face = camera_frame(load_rgb(FACES / "obama_1.jpg"))  # frontal; not an enrolment photo
    still = [jpeg_bytes(f) for f in static_frames(face, 8, jpeg_noise=True)]
    err = _refusal(session, lambda: _attempt(session, room, still))
    assert err.kind in ("checkin.liveness.repeated_frames", "checkin.liveness.no_turn")
    wrong = "right" if asked == "left" else "left"
    turned_wrong = [jpeg_bytes(f) for f in head_turn_frames(face, direction=wrong, n=10)]  # type: ignore[arg-type]
    err = _refusal(session, lambda: _attempt(session, room, turned_wrong))
    assert err.kind == "checkin.liveness.wrong_direction"
    turned = [jpeg_bytes(f) for f in head_turn_frames(face, direction=asked, n=10)]  # type: ignore[arg-type]
    assert _attempt(session, room, turned).project_code == "P1"  # type: ignore[attr-defined]
    # Someone else turning as asked is live, but not the holder of this ID number.
    other = camera_frame(load_rgb(FACES / "biden_2.jpg"))
    impostor = [jpeg_bytes(f) for f in head_turn_frames(other, direction=asked, n=10)]  # type: ignore[arg-type]
    err = _refusal(session, lambda: _attempt(session, room, impostor, id_number=ID_NUMBER))
    assert err.kind == "checkin.face.no_match"
