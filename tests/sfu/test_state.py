"""The SFU back end's shared state on both databases: recording leases, mountpoints, viewer counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from sfu import service as state
from sfu.models import SfuMount, SfuPeer

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _lease(session: Session, holder: str, now: datetime, recording: str = "rec-new") -> str | None:
    lease = state.claim_recording(session, room_code="R1", holder=holder, recording_id=recording, now=now,
                                  until=now + timedelta(seconds=10))
    return lease.holder if lease is not None else None


def test_one_process_holds_a_rooms_recording_until_its_lease_runs_out(session: Session) -> None:
    assert _lease(session, "a", T0, "rec-a") == "a"
    assert _lease(session, "b", T0 + timedelta(seconds=5), "rec-b") == "a"  # a holds it
    kept, free = state.renew_recordings(session, holder="a", rooms=["R1", "R2"], now=T0 + timedelta(seconds=8),
                                        until=T0 + timedelta(seconds=18))
    assert kept == {"R1": "rec-a"} and free == ["R2"]  # renewing keeps the recording id
    assert state.renew_recordings(session, holder="b", rooms=["R1"], now=T0 + timedelta(seconds=8),
                                  until=T0 + timedelta(seconds=18)) == ({}, [])  # b may not take it
    assert _lease(session, "b", T0 + timedelta(seconds=17), "rec-b") == "a"
    # a died: once the lease ran out, b takes the room over, in a new recording.
    assert _lease(session, "b", T0 + timedelta(seconds=19), "rec-b") == "b"
    lease = state.recording_lease(session, room_code="R1", now=T0 + timedelta(seconds=20))
    assert lease is not None and lease.recording_id == "rec-b"
    state.release_recording(session, room_code="R1", holder="a")  # not a's any more: nothing happens
    assert state.recording_lease(session, room_code="R1", now=T0 + timedelta(seconds=20)) is not None
    state.release_recording(session, room_code="R1", holder="b")
    assert state.recording_lease(session, room_code="R1", now=T0 + timedelta(seconds=20)) is None


def test_mountpoints_are_shared_and_viewers_counted(session: Session) -> None:
    big = 2 ** 52 + 7  # Janus ids are 53-bit
    first = state.add_mount(session, mount=SfuMount(id=big, room_code="R1", feed=big + 1, shape="full|video:108"))
    assert first is not None
    same = state.add_mount(session, mount=SfuMount(id=big + 2, room_code="R1", feed=big + 1, shape="full|video:108"))
    assert same is None  # another process's mountpoint of the same shape wins
    found = state.get_mount(session, room_code="R1", feed=big + 1, shape="full|video:108")
    assert found is not None and found.id == big
    for i, opening in enumerate([None, None, "token"]):
        state.add_peer(session, peer=SfuPeer(id=f"v{i}", room_code="R1", role="viewer", actor="x",
                                             janus_session=big + 10 + i, janus_handle=big, mount=big,
                                             opening=opening))
    assert state.viewer_counts(session, room_code="R1") == (3, 1)
    gone = state.remove_mount(session, mount_id=big)
    assert sorted(p.id for p in gone) == ["v0", "v1", "v2"] and state.viewer_counts(session, room_code="R1") == (0, 0)
    assert state.mounts(session, room_code="R1") == []
