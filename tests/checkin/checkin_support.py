"""A drawn tiny day with one expert seated at the main site, an ID number and an enrolled face (both DBs).

`liveness_passes` / `liveness_fails` replace the liveness judge where a test is about something else
(lockouts, seats, sign-off); the judge itself is tested in test_liveness.py and end to end in Chromium.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from access.models import UserCreate
from access.service import Principal, principal
from accounts.service import create_user
from checkin import liveness
from evaluation import service as draw_service
from evaluation.importer import import_instance
from evaluation.invitations import seat_holders
from evaluation.models import Project
from experts import enrolment
from experts.models import Expert
from tests.api_support import PASSWORD, seed_users
from tests.experts.test_identity import FACES, PHOTOS
from tests.factories_instance import tiny_day

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # P1: 09:00 +08:00
IN_WINDOW = START - timedelta(minutes=30)
ID_NUMBER = "37010219800101001X"
OTHER_ID = "370102198001010028"

need_faces = pytest.mark.skipif(not {"obama_1.jpg", "obama_2.jpg", "obama_3.jpg", "obama_4.jpg", "biden_1.jpg",
                                      "biden_2.jpg"}
                                <= {p.name for p in PHOTOS}, reason=f"shared face photos absent from {FACES}")


def photo(name: str) -> bytes:
    """The bytes of a shared test photo."""
    return (FACES / name).read_bytes()


def frame(name: str) -> bytes:
    """A shared photo as a terminal sends it: fitted into a 640x480 camera frame, JPEG."""
    from tests.experts.face_support import camera_frame, jpeg_bytes, load_rgb

    return jpeg_bytes(camera_frame(load_rgb(FACES / name)))


@dataclass
class Room1:
    """The prepared room: the terminal's principal, the seated expert and the project."""

    terminal: Principal
    expert: str
    project: str
    other_expert: str
    room_code: str


def prepare(session: Session, *, enrol: bool = True) -> Room1:
    """Import the tiny day, create the users, draw P1, enrol a main-site seat holder's face (obama_2, obama_4)."""
    import_instance(session, tiny_day()[0])
    session.commit()
    seed_users(session)
    draw_service.draw(session, project_codes=["P1"], seed_hex="5eed")
    project = session.exec(select(Project).where(Project.code == "P1")).one()
    assert project.id is not None
    holders = [h for h in seat_holders(session, project_ids=[project.id]) if h.site.code == "MAIN"]
    assert holders, "the tiny day's P1 should seat someone at the main site"
    expert = session.exec(select(Expert).where(Expert.code == holders[0].expert_code)).one()
    expert.id_number = ID_NUMBER
    session.add(expert)
    seated = {h.expert_code for h in seat_holders(session, project_ids=[project.id])}
    other = session.exec(select(Expert).where(Expert.code.not_in(seated))).first()  # type: ignore[attr-defined]
    assert other is not None
    other.id_number = OTHER_ID
    session.add(other)
    session.commit()
    if enrol:
        enrolment.enrol(session, expert_code=expert.code, images=[photo("obama_2.jpg"), photo("obama_4.jpg")],
                        consent=True, actor="test", now=IN_WINDOW - timedelta(days=1))
        enrolment.enrol(session, expert_code=other.code, images=[photo("biden_1.jpg")], consent=True, actor="test",
                        now=IN_WINDOW - timedelta(days=1))
        session.commit()
    # The terminal of the room where that expert sits (term1 stands in MAIN-R1, which P1 may not use).
    term = create_user(session, data=UserCreate(username="term_seat", password=PASSWORD, role="terminal",
                                                room_code=holders[0].room_code, site_codes=["MAIN"]))
    session.commit()
    return Room1(terminal=principal(session, term), expert=expert.code, project="P1", other_expert=other.code,
                 room_code=holders[0].room_code)


def _result(passed: bool, code: str) -> Any:
    return liveness.LivenessResult(passed=passed, code=code, message=f"liveness {code}", frontal_index=0)


def liveness_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the liveness judge pass (frame 0 frontal)."""
    monkeypatch.setattr(liveness, "judge", lambda frames, **_: _result(True, "ok"))


def liveness_fails(monkeypatch: pytest.MonkeyPatch, code: str = "no_turn") -> None:
    """Make the liveness judge fail with `code`."""
    monkeypatch.setattr(liveness, "judge", lambda frames, **_: _result(False, code))
