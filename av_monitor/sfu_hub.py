"""The SFU back end (`av_backend=janus`): WHIP and WHEP proxied to Janus, their state in the database.

Publishers join a Janus VideoRoom room (one per product room) with their own offer; Janus answers.
Viewers are served by Janus's Streaming plugin: a mountpoint per room and shape of the viewer's
offer (layer, kinds, payload types), fed by a VideoRoom RTP forwarder of the publisher's streams,
and answered through the SDP bridge (sfu.sdp). No media passes through this process. Every
session is a row (sfu.models), so any service process serves any DELETE and any room's state, and
every process keeps every Janus session alive: one process dying (kill -9) stops nothing.
Recording: Janus records, and the process holding a room's lease makes the segments (av_monitor.sfu_record).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlmodel import Session

from av_monitor import service
from av_monitor.audit import AuditWriter, wait_for_segment
from av_monitor.models import StreamAlert, StreamState
from av_monitor.recorder import SegmentInfo
from av_monitor.rooms import NotPublishing, OfferError, TooManyViewers, Unavailable, new_id
from av_monitor.sfu_mounts import Mounts
from av_monitor.sfu_record import SfuRecordings
from av_monitor.sfu_watch import SessionWatch
from config import db
from config.settings import Settings, get_settings
from sfu import sdp
from sfu import service as state
from sfu.control import NO_SUCH_ROOM, STREAMING, VIDEOROOM, Control
from sfu.janus import JanusClient, JanusError
from sfu.models import SfuPeer

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _with_session(fn: Callable[..., T], kwargs: dict[str, Any]) -> T:
    with Session(db.get_engine(), expire_on_commit=False) as session:  # rows are read after the commit
        return fn(session, **kwargs)


class SfuHub:
    """The RoomHub interface over Janus; one per process (see av_monitor.webrtc.get_hub)."""

    def __init__(self, *, settings: Settings | None = None, audit: AuditWriter | None = None) -> None:
        self.settings = settings or get_settings()
        self.audit = audit or AuditWriter()
        self.janus = JanusClient(self.settings.sfu_janus_url, timeout=self.settings.sfu_request_timeout_seconds)
        self.control = Control(self.janus, admin_key=self.settings.sfu_admin_key.get_secret_value(),
                               forward_host=self.settings.sfu_forward_host,
                               keyframe_seconds=self.settings.sfu_keyframe_seconds)
        self.mounts = Mounts(self.control, self.janus, self.db_call)
        self._tasks: set[asyncio.Task[None]] = set()
        self._keepalive: asyncio.Task[None] | None = None
        self.watch = SessionWatch(self)
        self._recording: asyncio.Task[None] | None = None
        self._schedule: asyncio.Task[None] | None = None
        self.recordings = SfuRecordings(settings=self.settings, janus=self.janus, run_db=self.db_call,
                                        on_segment=self._ledger_segment)

    async def db_call(self, fn: Callable[..., T], **kwargs: Any) -> T:
        return await asyncio.to_thread(_with_session, fn, kwargs)

    def spawn(self, coro: Any) -> asyncio.Task[None]:
        """Run `coro` on the loop as one of the hub's tasks (cancelled when the hub closes)."""
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _automatic(self, mode: str) -> bool:
        return self.settings.webrtc_record_while_publishing and self.settings.recording_mode == mode

    def start(self) -> None:
        """Run this process's upkeep: keepalives, recording, the schedule (call on the loop; idempotent)."""
        if self._keepalive is None or self._keepalive.done():
            self._keepalive = asyncio.ensure_future(self._keep_alive())
        if self._recording is None or self._recording.done():
            self._recording = asyncio.ensure_future(self._record())
        if self._automatic("schedule") and (self._schedule is None or self._schedule.done()):
            from av_monitor.schedule import follow_schedule  # late: it needs the database layer

            self._schedule = asyncio.ensure_future(follow_schedule(self))

    # --- publishers -------------------------------------------------------------------------

    async def publish(self, room_code: str, offer_sdp: str, *, actor: str) -> tuple[str, str]:
        """Join the room's VideoRoom with the WHIP offer; returns (session id, answer). Replaces any publisher."""
        try:
            return await self._publish(room_code, offer_sdp, actor=actor)
        except JanusError as exc:
            raise Unavailable(str(exc)) from None

    async def _publish(self, room_code: str, offer_sdp: str, *, actor: str) -> tuple[str, str]:
        self.start()
        try:
            sdp.parse(offer_sdp)
        except sdp.SdpError as exc:
            raise OfferError(str(exc), exc.field) from None
        session = await self.janus.create_session()
        try:
            handle, data, jsep = await self._join(room_code, session, offer_sdp)
            if jsep is None or "id" not in data:
                raise OfferError("the SFU did not answer the offer")
        except JanusError as exc:
            await self.quietly(self.janus.destroy(session))
            if exc.code == 0:  # not a refusal: Janus could not be reached
                raise
            raise OfferError(f"the SFU refused the offer: {exc}") from None
        except BaseException:
            await self.janus.destroy(session)
            raise
        streams = ";".join(":".join(s) for s in sdp.received_streams(jsep["sdp"]))
        peer = SfuPeer(id=new_id(), room_code=room_code, role="publisher", actor=actor, janus_session=session,
                       janus_handle=handle, feed=int(data["id"]), streams=streams)
        old = await self.db_call(state.peers, room_code=room_code, role="publisher")
        await self.db_call(state.add_peer, peer=peer)
        for previous in old:
            logger.info("room %s: publisher %s replaced by %s", room_code, previous.id, peer.id)
            await self.end_publisher(previous)
        self.audit.submit("av.publish", lambda s: service.log_publish(
            s, room_code=room_code, actor=actor, session_id=peer.id, started=True, recording_id=None))
        logger.info("room %s: publisher %s joined the SFU (%s)", room_code, peer.id, streams)
        return peer.id, jsep["sdp"]

    async def _join(self, room_code: str, session: int, offer_sdp: str
                    ) -> tuple[int, dict[str, Any], dict[str, str] | None]:
        """Join the room as its publisher (handle, event, answer); a room Janus lost is made again once."""
        for attempt in (1, 2):
            room = await self.control.ensure_room(room_code)
            handle = await self.janus.attach(session, VIDEOROOM)  # a fresh one: a refused offer taints it
            try:
                return handle, *await self.janus.message(
                    session, handle, {"request": "joinandconfigure", "room": room, "ptype": "publisher",
                                      "display": room_code[:100]}, {"type": "offer", "sdp": offer_sdp})
            except JanusError as exc:
                if exc.code != NO_SUCH_ROOM or attempt == 2:
                    raise
                self.control.forget_room(room_code)
        raise AssertionError("unreachable")

    async def end_publisher(self, peer: SfuPeer) -> None:
        """Hang the publisher up, and the viewers of its mountpoints (their streams are gone)."""
        if await self.db_call(state.remove_peer, peer_id=peer.id) is not None:
            self.audit.submit("av.publish", lambda s: service.log_publish(
                s, room_code=peer.room_code, actor=peer.actor, session_id=peer.id, started=False, recording_id=None))
        await self.quietly(self.janus.destroy(peer.janus_session))
        for mount in await self.db_call(state.mounts, room_code=peer.room_code):
            if mount.feed == peer.feed:
                await self.mounts.drop(mount)

    async def quietly(self, call: Any) -> None:
        try:
            await call
        except JanusError as exc:
            logger.info("SFU clean-up: %s", exc)

    async def unpublish(self, room_code: str, session_id: str) -> bool:
        """End the room's WHIP session `session_id`; False when it is not one."""
        peer = await self.db_call(state.get_peer, peer_id=session_id)
        if peer is None or peer.room_code != room_code or peer.role != "publisher":
            return False
        await self.end_publisher(peer)
        return True

    # --- viewers ----------------------------------------------------------------------------

    async def view(self, room_code: str, offer_sdp: str, *, actor: str, layer: str = "full",
                   opening: str | None = None) -> tuple[str, str]:
        """Watch through a Streaming mountpoint; returns (session id, answer). The room must be publishing."""
        try:
            return await self._view(room_code, offer_sdp, actor=actor, layer=layer, opening=opening)
        except JanusError as exc:
            raise Unavailable(str(exc)) from None

    async def _view(self, room_code: str, offer_sdp: str, *, actor: str, layer: str, opening: str | None,
                    ) -> tuple[str, str]:
        self.start()
        viewers, public = await self.db_call(state.viewer_counts, room_code=room_code)
        alike, limit = ((viewers - public, self.settings.sfu_max_viewers_per_room) if opening is None
                        else (public, self.settings.opening_max_viewers))
        if alike >= limit:
            raise TooManyViewers(f"room {room_code} already has {alike} viewers")
        publishers = await self.db_call(state.peers, room_code=room_code, role="publisher")
        if not publishers:
            raise NotPublishing(f"room {room_code} is not publishing now; watch again when its camera is on")
        publisher = publishers[-1]
        streams = [tuple(s.split(":")) for s in publisher.streams.split(";") if s]
        videos = [s for s in streams if s[1] == "video"]
        source = videos[1] if layer == "thumb" and len(videos) > 1 else videos[0] if videos else None
        if source is None:
            raise NotPublishing(f"room {room_code} publishes no video")
        try:
            offer = sdp.parse(offer_sdp)
            wants = sdp.wants(offer, source[2])
        except sdp.SdpError as exc:
            raise OfferError(str(exc), exc.field) from None
        sources = {"video": source[0], "audio": next((s[0] for s in streams if s[1] == "audio"), None)}
        chosen = [w for w in wants if sources[w.kind] is not None]
        mount = await self.mounts.for_viewer(room_code, publisher, layer, chosen, sources)
        session = await self.janus.create_session()
        try:
            handle = await self.janus.attach(session, STREAMING)
            _, jsep = await self.janus.message(session, handle, {"request": "watch", "id": mount.id})
            if jsep is None:
                raise OfferError("the SFU made no offer for the mountpoint")
            for_viewer, for_janus = sdp.bridge(offer, chosen, sdp.parse(jsep["sdp"]))
            await self.janus.message(session, handle, {"request": "start"}, {"type": "answer", "sdp": for_janus})
        except sdp.SdpError as exc:
            await self.janus.destroy(session)
            raise OfferError(str(exc), exc.field) from None
        except BaseException:
            await self.janus.destroy(session)
            raise
        peer = SfuPeer(id=new_id(), room_code=room_code, role="viewer", actor=actor, janus_session=session,
                       janus_handle=handle, mount=mount.id, layer=layer, opening=opening)
        await self.db_call(state.add_peer, peer=peer)
        await self.quietly(self.janus.send(publisher.janus_session, publisher.janus_handle,
                                            {"request": "configure", "keyframe": True}))
        logger.info("room %s: viewer %s through mountpoint %s", room_code, peer.id, mount.id)
        return peer.id, for_viewer

    async def stop_viewing(self, room_code: str, session_id: str) -> bool:
        """End a WHEP session; False when the room has no such viewer."""
        peer = await self.db_call(state.get_peer, peer_id=session_id)
        if peer is None or peer.room_code != room_code or peer.role != "viewer":
            return False
        await self.db_call(state.remove_peer, peer_id=session_id)
        await self.quietly(self.janus.destroy(peer.janus_session))
        return True

    def public_sessions(self) -> dict[str, tuple[str, str]]:
        """Anonymous viewer sessions of every process: session id -> (room code, token)."""
        rows = _with_session(state.peers, {"role": "viewer"})
        return {p.id: (p.room_code, p.opening) for p in rows if p.opening is not None}

    # --- recording (av_monitor.sfu_record: Janus records, the lease holder makes the segments) ---------

    def _ledger_segment(self, info: SegmentInfo) -> None:
        """Ledger a closed segment and wait for it (on the recorder's thread): only then is it listed."""
        wait_for_segment(self.audit.submit("av.segment", lambda s: service.log_segment(s, info=info)),
                         room_code=info.room_code, index=info.index,
                         timeout=self.settings.recording_segment_seconds * 4)

    async def start_recording(self, room_code: str) -> None:
        """Record the room (in whichever process holds its lease) from now on."""
        self.start()
        self.recordings.wanted.add(room_code)

    async def stop_recording(self, room_code: str) -> None:
        """Stop recording the room: its playlist gets its end, the lease is given up."""
        self.recordings.wanted.discard(room_code)
        await self.recordings.finish(room_code)

    def recording_rooms(self) -> set[str]:
        """The rooms this process wants recorded (one process records each, see the lease)."""
        return set(self.recordings.wanted)

    async def _record(self) -> None:
        while True:
            try:
                if self._automatic("always"):
                    publishing = {p.room_code for p in await self.db_call(state.peers, role="publisher")}
                    self.recordings.wanted = publishing
                await self.recordings.pass_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the SFU or the database down for a moment: the next pass retries
                logger.exception("SFU recording pass failed")
            await asyncio.sleep(self.recordings.PASS_SECONDS)

    # --- state and upkeep -----------------------------------------------------------------------

    def state(self, room_code: str) -> StreamState:
        """The room's stream as every process sees it (from the database)."""
        publishers = _with_session(state.peers, {"room_code": room_code, "role": "publisher"})
        viewers, public = _with_session(state.viewer_counts, {"room_code": room_code})
        lease = _with_session(state.recording_lease, {"room_code": room_code, "now": datetime.now(UTC)})
        pub = publishers[-1] if publishers else None
        stalled = pub.stalled_since if pub is not None else None
        alerts = [StreamAlert(at=stalled, reason="no_frames", session_id=pub.id)] if pub and stalled else []
        return StreamState(room_code=room_code, publishing=pub is not None, publisher_session=pub.id if pub else None,
                           publisher_since=pub.since if pub else None, viewers=viewers, public_viewers=public,
                           recording=lease is not None, recording_id=lease.recording_id if lease else None,
                           last_frame_at=None, stalled=stalled is not None, alerts=alerts)

    async def keep_alive_once(self) -> int:
        """One upkeep pass (av_monitor.sfu_watch): keepalives, and a poller for each session."""
        return await self.watch.once()

    async def _keep_alive(self) -> None:
        while True:
            try:
                await self.watch.once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the SFU or the database down for a moment: the next pass retries
                logger.exception("SFU keepalive pass failed")
            await asyncio.sleep(self.settings.sfu_keepalive_seconds)

    async def close(self) -> None:
        """Stop this process's upkeep and recordings; the sessions stay (the other processes keep them)."""
        loops = [t for t in (self._keepalive, self._recording, self._schedule) if t is not None]
        for task in [*loops, *self._tasks]:
            task.cancel()
        await asyncio.gather(*self._tasks, *loops, return_exceptions=True)
        for code in list(self.recordings.held):
            await self.recordings.finish(code)  # released: another process takes the room over at once
        await self.quietly(self.control.close())
        await self.janus.close()
        await asyncio.get_running_loop().run_in_executor(None, self.audit.close)
