"""Regressions from the independent review of check-in (both DBs): each test failed before its fix."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pytest
from sqlmodel import Session, select

import ledger
from access.models import User
from access.service import principal
from checkin import service
from checkin.exceptions import CheckinRefused
from checkin.models import Checkin, ManualCheckin
from checkin.scheduled import replace_no_shows
from config.settings import get_settings
from evaluation.models import Project
from experts.models import Expert
from tests.checkin.checkin_support import (
    ID_NUMBER,
    IN_WINDOW,
    START,
    frame,
    liveness_passes,
    need_faces,
    prepare,
)
from tests.experts.face_support import jpeg_bytes
from venues.models import Room

pytestmark = need_faces


def _claim(session: Session, room: object, *, id_number: str = ID_NUMBER, token: str | None = None) -> object:
    who = room.terminal  # type: ignore[attr-defined]
    tok = token or service.challenge(session, who=who, id_number=id_number, purpose="checkin", now=IN_WINDOW).token
    claim = service.begin(session, who=who, token=tok, id_number=id_number, purpose="checkin", now=IN_WINDOW)
    session.commit()
    return claim


def _refused(session: Session, fn: object) -> CheckinRefused:
    with pytest.raises(CheckinRefused) as info:
        fn()  # type: ignore[operator]
    session.commit()
    return info.value


def test_ledger_references_do_not_link_one_expert_across_attempts_or_projects(
        session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    room = prepare(session)
    liveness_passes(monkeypatch)
    for _ in range(2):
        service.check_in(session, who=room.terminal, claim=_claim(session, room), id_number=ID_NUMBER,  # type: ignore[arg-type]
                         frames=[frame("obama_3.jpg")] * 6, now=IN_WINDOW)
        session.commit()
    refs = [json.loads(e.payload)["expert_ref"] for e in ledger.entries(session, kind_prefix="checkin.attempt")]
    assert len(refs) == 2 and refs[0] != refs[1]
    assert service.expert_ref(room.expert, salt="P1") != service.expert_ref(room.expert, salt="P2")


def test_a_replayed_challenge_is_refused_before_any_face_is_judged(session: Session,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    room = prepare(session)
    judged: list[int] = []
    monkeypatch.setattr("checkin.liveness.judge", lambda frames, **_: judged.append(1))
    tok = service.challenge(session, who=room.terminal, id_number=ID_NUMBER, purpose="checkin", now=IN_WINDOW).token
    _claim(session, room, token=tok)  # claimed, its judgement still running elsewhere
    err = _refused(session, lambda: _claim(session, room, token=tok))
    assert (err.field, err.kind) == ("token", "checkin.challenge") and judged == []


def test_attempts_in_flight_count_towards_the_lockout(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    room = prepare(session)
    liveness_passes(monkeypatch)
    monkeypatch.setattr(get_settings(), "checkin_max_failures", 2)
    tokens = [service.challenge(session, who=room.terminal, id_number=ID_NUMBER, purpose="checkin",
                                now=IN_WINDOW).token for _ in range(3)]
    claims = [_claim(session, room, token=t) for t in tokens]  # three sent at once, none judged yet
    err = _refused(session, lambda: service.check_in(session, who=room.terminal, claim=claims[2],  # type: ignore[arg-type]
                                                     id_number=ID_NUMBER, frames=[frame("obama_3.jpg")] * 6,
                                                     now=IN_WINDOW))
    assert err.kind == "checkin.locked" and session.exec(select(Checkin)).all() == []


def test_forged_tokens_do_not_lock_the_expert_out(session: Session) -> None:
    room = prepare(session)
    for _ in range(get_settings().checkin_max_failures + 1):
        _refused(session, lambda: _claim(session, room, token="forged"))
    service.challenge(session, who=room.terminal, id_number=ID_NUMBER, purpose="checkin", now=IN_WINDOW)


def test_id_numbers_stored_unnormalised_are_still_found(session: Session) -> None:
    prepare(session, enrol=False)
    expert = session.exec(select(Expert).where(Expert.id_number == ID_NUMBER)).one()
    expert.id_number = "370102 19800101 001x"
    session.add(expert)
    session.commit()
    found = service.by_id_number(session, ID_NUMBER)
    assert found is not None and found.code == expert.code
    assert service.by_id_number(session, "") is None


def test_oversized_frames_are_refused_before_decoding(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    room = prepare(session)
    liveness_passes(monkeypatch)
    big = jpeg_bytes(np.full((1400, 1400, 3), 128, dtype=np.uint8))
    err = _refused(session, lambda: service.check_in(session, who=room.terminal, claim=_claim(session, room),  # type: ignore[arg-type]
                                                     id_number=ID_NUMBER, frames=[big] * 6, now=IN_WINDOW))
    assert (err.field, err.kind) == ("frames", "checkin.face.too_large")


def test_a_replacement_drawn_at_the_deadline_can_still_check_in(session: Session) -> None:
    room = prepare(session, enrol=False)
    project = session.exec(select(Project).where(Project.code == "P1")).one()
    deadline = START + timedelta(minutes=get_settings().checkin_grace_minutes)
    replace_no_shows(session, project=project, now=deadline)  # nobody checked in: every seat is replaced
    session.commit()
    from evaluation.invitations import seat_holders

    assert project.id is not None
    holders = [h for h in seat_holders(session, project_ids=[project.id]) if h.room_code == room.room_code]
    assert holders and holders[0].expert_code != room.expert
    sup = principal(session, session.exec(select(User).where(User.username == "super")).one())
    r = session.exec(select(Room).where(Room.code == room.room_code)).one()
    got = service.manual_check_in(session, who=sup, room=r, now=deadline + timedelta(minutes=40),
                                  data=ManualCheckin(room_code=r.code, expert_code=holders[0].expert_code,
                                                     reason="replacement arrived"))
    assert got.project_code == "P1" and got.method == "manual"
