"""Schedule-driven recording: which rooms hold an evaluation when, and the hub following the schedule.

The tiny day's P1 (09:00–12:00 +08:00) is drawn; its rooms are scheduled from check-in opening
(start − checkin_open_minutes) to end + recording_after_minutes, and no other room is. The hub's
schedule loop (real `RoomHub`, a recorder that notes calls) starts the recording of a publishing
scheduled room and finishes it once the schedule ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCPeerConnection
from sqlmodel import Session, col, select

from av_monitor import schedule, webrtc
from av_monitor.rooms import Peer
from config import db
from config.settings import Settings
from evaluation.models import Project, Seat
from tests.checkin.checkin_support import prepare
from venues.models import Room

START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
END = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def settings_for(tmp_path: Path, **extra: Any) -> Settings:
    """Check-in opens 120 min before, recording goes on 30 min after the end."""
    values: dict[str, Any] = {"recording_directory": tmp_path / "rec", "checkin_open_minutes": 120,
                              "recording_after_minutes": 30, **extra}
    return Settings(**values)


def p1_rooms(session: Session) -> set[str]:
    """Codes of the rooms where the drawn P1 holds seats."""
    stmt = (select(Room.code).join(Seat, col(Seat.room_id) == col(Room.id))
            .join(Project, col(Project.id) == col(Seat.project_id)).where(Project.code == "P1"))
    return set(session.exec(stmt).all())


def test_a_room_is_scheduled_from_checkin_opening_until_after_the_end(session: Session, tmp_path: Path) -> None:
    prepare(session, enrol=False)
    s = settings_for(tmp_path)
    rooms = p1_rooms(session)
    all_rooms = set(session.exec(select(Room.code)).all())
    assert rooms and rooms < all_rooms, "P1 should hold seats in some rooms, not all"
    opens, closes = START - timedelta(minutes=120), END + timedelta(minutes=30)
    second = timedelta(seconds=1)
    for now, expected in ((opens - second, set()), (opens, rooms), (START + timedelta(hours=1), rooms),
                          (closes, rooms), (closes + second, set())):
        assert schedule.scheduled_rooms(session, now=now, settings=s) == expected, now
    inside = next(iter(rooms))
    outside = next(iter(all_rooms - rooms))
    assert schedule.is_scheduled(session, room_code=inside, now=START, settings=s)
    assert not schedule.is_scheduled(session, room_code=outside, now=START, settings=s)
    # The margins are settings: a shorter after-margin ends the schedule sooner.
    shorter = settings_for(tmp_path, recording_after_minutes=5)
    assert schedule.scheduled_rooms(session, now=END + timedelta(minutes=10), settings=shorter) == set()
    # A cancelled project no longer holds its rooms.
    p1 = session.exec(select(Project).where(Project.code == "P1")).one()
    p1.status = "cancelled"
    session.add(p1)
    session.commit()
    assert schedule.scheduled_rooms(session, now=START, settings=s) == set()


class NotingRecorder:
    """A recorder that notes what the hub asks of it."""

    made: list[NotingRecorder] = []

    def __init__(self, **kwargs: Any) -> None:
        self.room_code = kwargs["room_code"]
        self.calls: list[str] = []
        NotingRecorder.made.append(self)

    def add_track(self, track: Any) -> None:
        self.calls.append("add_track")

    def track_ended(self) -> None:
        self.calls.append("track_ended")

    async def stop(self) -> None:
        self.calls.append("stop")


async def until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Wait until `check()` holds (False on timeout)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def test_the_hub_records_a_publishing_room_only_while_scheduled(session: Session, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    prepare(session, enrol=False)
    engine = session.get_bind()
    monkeypatch.setattr(db, "get_engine", lambda url=None: engine)
    rooms = p1_rooms(session)
    inside = sorted(rooms)[0]
    outside = sorted(set(session.exec(select(Room.code)).all()) - rooms)[0]
    NotingRecorder.made = []
    clock = {"now": START - timedelta(hours=3)}  # before check-in opens

    async def scenario() -> None:
        hub = webrtc.RoomHub(settings=settings_for(tmp_path, recording_schedule_interval_seconds=0.1),
                             recorder_factory=NotingRecorder)
        for code in (inside, outside):  # two rooms publishing (a connection standing in for the publisher)
            hub._room(code).publisher = Peer(id=code, pc=RTCPeerConnection(), actor="test", since=START)
        # The hub's own loop is started as on the first publish; the test steers the schedule's clock.
        monkeypatch.setattr(schedule.clock, "now", lambda: clock["now"])
        hub._started()
        await asyncio.sleep(0.5)
        assert NotingRecorder.made == [] and hub.state(inside).recording is False, "nothing scheduled yet"
        clock["now"] = START - timedelta(minutes=90)
        assert await until(lambda: hub.state(inside).recording), "check-in opened: the room is recorded"
        await asyncio.sleep(0.3)
        assert [r.room_code for r in NotingRecorder.made] == [inside], "only the scheduled room is recorded"
        assert hub.state(outside).recording is False
        clock["now"] = END + timedelta(minutes=31)
        assert await until(lambda: not hub.state(inside).recording), "after the margin the recording ends"
        assert NotingRecorder.made[0].calls[-1] == "stop"
        await asyncio.sleep(0.3)
        assert len(NotingRecorder.made) == 1, "not started again once the schedule is over"
        await hub.close()

    asyncio.run(scenario())


def test_always_mode_records_every_publishing_room_without_a_schedule(tmp_path: Path) -> None:
    hub = webrtc.RoomHub(settings=settings_for(tmp_path, recording_mode="always"), recorder_factory=NotingRecorder)
    assert hub._room("ANY").recording_wanted is True
    off = webrtc.RoomHub(settings=settings_for(tmp_path, recording_mode="always", webrtc_record_while_publishing=False),
                         recorder_factory=NotingRecorder)
    assert off._room("ANY").recording_wanted is False
    scheduled = webrtc.RoomHub(settings=settings_for(tmp_path), recorder_factory=NotingRecorder)
    assert scheduled._room("ANY").recording_wanted is False, "schedule mode: only the schedule turns recording on"
    with pytest.raises(ValueError):
        Settings(recording_mode="sometimes")
