"""Reading and writing the SFU state tables (keyword-only functions taking a session)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import case, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, func, select

from sfu.models import SfuMount, SfuPeer, SfuRecorder


def add_peer(session: Session, *, peer: SfuPeer) -> SfuPeer:
    """Store a new session."""
    session.add(peer)
    session.commit()
    return peer


def get_peer(session: Session, *, peer_id: str) -> SfuPeer | None:
    """A session by its resource id."""
    return session.get(SfuPeer, peer_id)


def remove_peer(session: Session, *, peer_id: str) -> SfuPeer | None:
    """Delete a session's row; returns it (None when another process got there first)."""
    peer = session.get(SfuPeer, peer_id)
    if peer is None:
        return None
    session.delete(peer)
    session.commit()
    return peer


def peers(session: Session, *, room_code: str | None = None, role: str | None = None) -> list[SfuPeer]:
    """Sessions, oldest first, of a room and a role when given."""
    query = select(SfuPeer).order_by(col(SfuPeer.since))
    if room_code is not None:
        query = query.where(SfuPeer.room_code == room_code)
    if role is not None:
        query = query.where(SfuPeer.role == role)
    return list(session.exec(query).all())


def set_stalled(session: Session, *, peer_id: str, since: datetime | None) -> bool:
    """Mark a publisher stalled since `since` (None: receiving again); False when it changed nothing."""
    changed = session.exec(update(SfuPeer).where(  # type: ignore[call-overload]
        col(SfuPeer.id) == peer_id,
        col(SfuPeer.stalled_since).is_(None) if since is not None else col(SfuPeer.stalled_since).is_not(None),
    ).values(stalled_since=since))
    session.commit()
    return bool(changed.rowcount)


def viewer_counts(session: Session, *, room_code: str) -> tuple[int, int]:
    """(viewers, of them anonymous) of a room."""
    rows = session.exec(select(col(SfuPeer.opening).is_(None), func.count()).where(
        SfuPeer.room_code == room_code, SfuPeer.role == "viewer").group_by(col(SfuPeer.opening).is_(None))).all()
    staff = sum(n for is_staff, n in rows if is_staff)
    public = sum(n for is_staff, n in rows if not is_staff)
    return staff + public, public


def get_mount(session: Session, *, room_code: str, feed: int, shape: str) -> SfuMount | None:
    """The mountpoint for viewers of this shape of the publisher `feed`."""
    return session.exec(select(SfuMount).where(
        SfuMount.room_code == room_code, SfuMount.feed == feed, SfuMount.shape == shape)).first()


def add_mount(session: Session, *, mount: SfuMount) -> SfuMount | None:
    """Store a new mountpoint; None when another process stored one of the same shape first."""
    session.add(mount)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return mount


def mounts(session: Session, *, room_code: str | None = None, stale_for_feed: int | None = None) -> list[SfuMount]:
    """Mountpoints of a room (all of them, or those not fed by `stale_for_feed`)."""
    query = select(SfuMount)
    if room_code is not None:
        query = query.where(SfuMount.room_code == room_code)
    if stale_for_feed is not None:
        query = query.where(SfuMount.feed != stale_for_feed)
    return list(session.exec(query).all())


def remove_mount(session: Session, *, mount_id: int) -> list[SfuPeer]:
    """Delete a mountpoint and its viewers' rows; returns the viewers (their Janus sessions are to end)."""
    viewers = list(session.exec(select(SfuPeer).where(SfuPeer.mount == mount_id)).all())
    session.exec(delete(SfuPeer).where(col(SfuPeer.mount) == mount_id))  # type: ignore[call-overload]
    session.exec(delete(SfuMount).where(col(SfuMount.id) == mount_id))  # type: ignore[call-overload]
    session.commit()
    return viewers


def claim_recording(session: Session, *, room_code: str, holder: str, recording_id: str, now: datetime,
                    until: datetime) -> SfuRecorder | None:
    """Take or renew the room's recording lease; the lease as it stands when another process holds it.

    Returns the lease, whose `holder` says who records: this process when it is `holder`.
    """
    taken = session.exec(update(SfuRecorder).where(  # type: ignore[call-overload]
        col(SfuRecorder.room_code) == room_code,
        (col(SfuRecorder.holder) == holder) | (col(SfuRecorder.until) < now),
    ).values(holder=holder, until=until, recording_id=case(
        (col(SfuRecorder.holder) == holder, col(SfuRecorder.recording_id)), else_=recording_id)))
    session.commit()
    if not taken.rowcount and session.get(SfuRecorder, room_code, populate_existing=True) is None:
        try:
            session.add(SfuRecorder(room_code=room_code, holder=holder, recording_id=recording_id, until=until))
            session.commit()
        except IntegrityError:
            session.rollback()
    return session.get(SfuRecorder, room_code, populate_existing=True)


def renew_recordings(session: Session, *, holder: str, rooms: list[str], now: datetime, until: datetime
                     ) -> tuple[dict[str, str], list[str]]:
    """Extend the leases `holder` holds among `rooms` (one statement).

    Returns (room -> recording id of the leases held, the rooms whose lease is missing or ran out).
    """
    session.exec(update(SfuRecorder).where(  # type: ignore[call-overload]
        col(SfuRecorder.room_code).in_(rooms), col(SfuRecorder.holder) == holder).values(until=until))
    session.commit()
    rows = session.exec(select(SfuRecorder).where(col(SfuRecorder.room_code).in_(rooms))).all()
    held = {r.room_code: r.recording_id for r in rows if r.holder == holder}
    taken = {r.room_code for r in rows if r.holder != holder and _aware(r.until) >= now}
    return held, [code for code in rooms if code not in held and code not in taken]


def release_recording(session: Session, *, room_code: str, holder: str) -> None:
    """Give the room's recording lease up (only the holder's)."""
    session.exec(delete(SfuRecorder).where(  # type: ignore[call-overload]
        col(SfuRecorder.room_code) == room_code, col(SfuRecorder.holder) == holder))
    session.commit()


def recording_lease(session: Session, *, room_code: str, now: datetime) -> SfuRecorder | None:
    """The room's live recording lease, if any."""
    lease = session.get(SfuRecorder, room_code)
    return lease if lease is not None and _aware(lease.until) >= now else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
