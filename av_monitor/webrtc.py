"""The room hub: one WHIP publisher per room, WHEP viewers fanned out by MediaRelay, the room's recorder.

Everything here runs on the service's event loop. Per room: the publisher's peer connection and
its received tracks; a drain task per track, which keeps the receiver's queue empty and notes the
last frame's time (so a room without viewers or recording neither grows memory nor encodes); the
room's recorder, fed by buffered relay proxies (it must not lose frames; it hands them to its
encoding thread at once); and the viewers, each sender fed an unbuffered relay proxy (a slow
viewer only ever holds the latest frame) through a `ViewerTrack` that survives publisher changes.

Viewers forward (`webrtc_forward_viewers`, av_monitor.forward): a viewer whose connection takes the
publisher's codec (the answer offers it only that one when the publisher is there) gets the
publisher's encoded frames, packetized again, with keyframes asked of the publisher on joining and
on the viewer's PLI; only a viewer that cannot take the codec, or the recorder, needs decoded frames,
and only then does the publisher's track get decoded.

Recording (`recording_mode`): "always" records a room whenever a publisher is connected;
"schedule" (the default) records it only while an evaluation is scheduled there, as decided by
`av_monitor.schedule.follow_schedule`, which this hub runs on its loop and which calls
`start_recording`/`stop_recording`. `webrtc_record_while_publishing=false` turns automatic
recording off in both modes (`start_recording` still works). A publisher that
leaves or is replaced marks `track_ended()`; one that comes back within
`webrtc_recording_linger_seconds` continues the same recording (with a gap), later ones start a
new recording. A watchdog raises `av.alert` when a publisher sends no frames for
`webrtc_stream_stopped_seconds` or its connection fails. Ledger writes go through `AuditWriter`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError

from av_monitor import feeds, negotiation, service
from av_monitor.audit import AuditWriter, wait_for_segment
from av_monitor.forward import attach, remuxed_kinds
from av_monitor.models import StreamAlert, StreamState
from av_monitor.rooms import Peer, Recorder, RecorderFactory, Room, TooManyViewers, new_id, new_recording_id
from av_monitor.sfu_hub import SfuHub
from config.settings import Settings, get_settings

logger = logging.getLogger(__name__)
WATCH_INTERVAL = 1.0  # seconds between watchdog passes


def default_recorder_factory(**kwargs: Any) -> Recorder:
    """A `RoomRecorder` (imported late so the hub works, unrecorded, wherever it cannot load)."""
    from av_monitor.recorder import RoomRecorder

    return RoomRecorder(**kwargs)


class RoomHub:
    """Publishers, viewers and recorders of every room; one per process (see `get_hub`)."""

    def __init__(self, *, settings: Settings | None = None, recorder_factory: RecorderFactory | None = None,
                 audit: AuditWriter | None = None) -> None:
        self.settings = settings or get_settings()
        self.recorder_factory = recorder_factory or default_recorder_factory
        self.audit = audit or AuditWriter()
        self.relay = MediaRelay()
        self.rooms: dict[str, Room] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._watchdog: asyncio.Task[None] | None = None
        self._schedule: asyncio.Task[None] | None = None

    # --- peers ------------------------------------------------------------------------------

    def _room(self, code: str) -> Room:
        if code not in self.rooms:
            self.rooms[code] = Room(code=code, recording_wanted=self._automatic("always"))
        return self.rooms[code]

    def spawn(self, coro: Any) -> asyncio.Task[None]:
        """Run `coro` on the loop as one of the hub's tasks (cancelled when the hub closes)."""
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _automatic(self, mode: str) -> bool:
        """True when rooms are recorded automatically in `mode` ("always" or "schedule")."""
        return self.settings.webrtc_record_while_publishing and self.settings.recording_mode == mode

    def _started(self) -> None:
        self.loop = asyncio.get_running_loop()
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.ensure_future(self._watch())
        if self._automatic("schedule") and (self._schedule is None or self._schedule.done()):
            from av_monitor.schedule import follow_schedule  # late: it needs the database layer

            self._schedule = asyncio.ensure_future(follow_schedule(self))

    async def publish(self, room_code: str, offer_sdp: str, *, actor: str) -> tuple[str, str]:
        """Accept a WHIP offer for the room; returns (session id, SDP answer). Replaces any publisher."""
        self._started()
        room = self._room(room_code)
        pc = RTCPeerConnection(negotiation.configuration(self.settings))
        peer = Peer(id=new_id(), pc=pc, actor=actor, since=datetime.now(UTC))
        received: list[MediaStreamTrack] = []
        peer.pc.on("track", received.append)
        try:
            await negotiation.apply_offer(peer.pc, offer_sdp, publish=True)
            negotiation.prefer_camera_codec(peer.pc, self.settings.webrtc_publish_video_codec)
            answer = await negotiation.answer(peer.pc)
        except BaseException:
            await peer.pc.close()
            raise
        old = room.publisher
        received, layer = negotiation.split_layer(received)
        room.publisher, room.sources = peer, {t.kind: t for t in received}
        room.publisher_mono, room.left_mono, room.stalled = time.monotonic(), None, False
        room.last_frame_mono = None
        if old is not None:
            logger.info("room %s: publisher %s replaced by %s", room_code, old.id, peer.id)
            await self._end_publisher(room, old, replaced=True)
        peer.pc.on("connectionstatechange", lambda: self._publisher_state(room, peer))
        room.fanouts = {}
        for track in received:
            if self.settings.webrtc_forward_viewers:
                fanout = attach(peer.pc, track, on_frame=lambda: self._frame_arrived(room),
                                decode_wanted=functools.partial(feeds.decode_wanted, room, track.kind),
                                min_keyframe_interval=self.settings.webrtc_keyframe_min_interval_seconds)
                if fanout is not None:
                    room.fanouts[track.kind] = fanout
            self.spawn(self._drain(room, track))
        if layer is not None and self.settings.webrtc_forward_viewers:
            thumb = attach(peer.pc, layer, on_frame=lambda: None, decode_wanted=lambda: False,
                           min_keyframe_interval=self.settings.webrtc_keyframe_min_interval_seconds)
            if thumb is not None:
                room.fanouts["thumb"] = thumb  # forwarded to wall tiles as it came: no thumbnail encode
        if room.recording_wanted:
            self._record(room, received)
        feeds.stop_thumbs(room)  # the old publisher's pictures
        for viewer in room.viewers.values():
            for vt in viewer.tracks:
                vt.follow(feeds.feed(room, vt, self.relay, self.settings))
        self.audit.submit("av.publish", lambda s: service.log_publish(
            s, room_code=room_code, actor=actor, session_id=peer.id, started=True, recording_id=room.recording_id))
        logger.info("room %s: publisher %s connected (%s)", room_code, peer.id, ", ".join(sorted(room.sources)))
        return peer.id, answer

    def _ledger_segment(self, info: Any) -> None:
        """Ledger a closed segment and wait for it (on the recorder's thread): only then is it listed."""
        wait_for_segment(self.audit.submit("av.segment", lambda s: service.log_segment(s, info=info)),
                         room_code=info.room_code, index=info.index,
                         timeout=self.settings.recording_segment_seconds * 4)

    def _record(self, room: Room, tracks: list[MediaStreamTrack]) -> None:
        """Feed the publisher's tracks to the room's recorder (opening a recording if none is open)."""
        if room.recorder is None:
            now = datetime.now(UTC)
            room.recording_id = new_recording_id(now)
            code = room.code
            directory = Path(self.settings.recording_directory) / code  # the recorder adds the id
            try:
                room.recorder = self.recorder_factory(
                    room_code=code, directory=directory, recording_id=room.recording_id, settings=self.settings,
                    on_segment=self._ledger_segment)
            except Exception:
                logger.exception("room %s: the recorder could not start; the stream is not recorded", code)
                room.recording_id = None
                return
            logger.info("room %s: recording %s started", code, room.recording_id)
        room.recorder_packets = remuxed_kinds(room.fanouts, self.settings.recording_remux)
        for track in tracks:
            if track.kind in room.recorder_packets:
                # H.264 and Opus as they came: a remux, no decoder and no encoder.
                room.recorder.add_track(room.fanouts[track.kind].subscribe())
            else:
                # Buffered: the recorder must not lose frames, and it hands each to its thread at once.
                room.recorder.add_track(self.relay.subscribe(track, buffered=True))

    async def _drain(self, room: Room, track: MediaStreamTrack) -> None:
        """Consume the publisher's decoded track (so the receiver never queues) and note when frames arrive."""
        sink = self.relay.subscribe(track, buffered=False)
        try:
            while True:
                await sink.recv()
                self._frame_arrived(room)
        except MediaStreamError:
            pass

    @staticmethod
    def _frame_arrived(room: Room) -> None:
        room.last_frame_mono, room.last_frame_at = time.monotonic(), datetime.now(UTC)
        if room.stalled and room.publisher is not None:
            room.stalled = False
            logger.info("room %s: frames arrive again", room.code)

    def _publisher_state(self, room: Room, peer: Peer) -> None:
        state = peer.pc.connectionState
        if room.publisher is not peer or state not in ("failed", "closed"):
            return
        if state == "failed":
            self._alert(room, "connection_failed", peer.id, None)
        self.spawn(self._end_publisher(room, peer, replaced=False))

    async def _end_publisher(self, room: Room, peer: Peer, *, replaced: bool) -> None:
        """Close a publisher's connection; the recording, if any, notes the gap and waits for the next."""
        if room.publisher is peer:
            room.publisher, room.sources, room.fanouts = None, {}, {}
            room.left_mono = time.monotonic()
            feeds.stop_thumbs(room)
        await peer.pc.close()
        if room.recorder is not None:
            room.recorder.track_ended()
        self.audit.submit("av.unpublish", lambda s: service.log_publish(
            s, room_code=room.code, actor=peer.actor, session_id=peer.id, started=False,
            recording_id=room.recording_id))
        logger.info("room %s: publisher %s %s", room.code, peer.id, "replaced" if replaced else "gone")

    async def unpublish(self, room_code: str, session_id: str) -> bool:
        """End the room's WHIP session `session_id`; False when it is not the current one."""
        room = self.rooms.get(room_code)
        if room is None or room.publisher is None or room.publisher.id != session_id:
            return False
        await self._end_publisher(room, room.publisher, replaced=False)
        return True

    async def view(self, room_code: str, offer_sdp: str, *, actor: str, layer: str = "full",
                   opening: str | None = None) -> tuple[str, str]:
        """Accept a WHEP offer; returns (session id, SDP answer). Works before the publisher arrives.

        `layer="thumb"` (wall tiles): the video is the room's shared thumbnail, when the viewer takes VP8.
        `opening`: an anonymous viewer of a public opening (its link's token), counted against
        `opening_max_viewers` apart from staff viewers, so a crowd never locks supervisors out.
        """
        self._started()
        room = self._room(room_code)
        alike = sum(1 for p in room.viewers.values() if (p.opening is None) == (opening is None))
        limit = self.settings.webrtc_max_viewers_per_room if opening is None else self.settings.opening_max_viewers
        if alike >= limit:
            raise TooManyViewers(f"room {room_code} already has {alike} viewers")
        pc = RTCPeerConnection(negotiation.configuration(self.settings))
        peer = Peer(id=new_id(), pc=pc, actor=actor, since=datetime.now(UTC), opening=opening)
        room.viewers[peer.id] = peer  # holds the place while the answer is made (the limit holds under races)
        try:
            await negotiation.apply_offer(peer.pc, offer_sdp, publish=False)
            # The viewer's tracks exist before the answer is made, and follow the room's publisher.
            for transceiver in peer.pc.getTransceivers():
                vt = feeds.viewer_track(room, transceiver, layer)
                peer.tracks.append(vt)
                feeds.pass_keyframe_requests(peer.pc.addTrack(vt), vt)
                vt.follow(feeds.feed(room, vt, self.relay, self.settings))
            answer = await negotiation.answer(peer.pc)
        except BaseException:
            await self._end_viewer(room, peer)
            raise
        peer.pc.on("connectionstatechange", lambda: self._viewer_state(room, peer))
        logger.info("room %s: viewer %s connected (%d viewers)", room_code, peer.id, len(room.viewers))
        return peer.id, answer

    def _viewer_state(self, room: Room, peer: Peer) -> None:
        if peer.pc.connectionState in ("failed", "closed") and room.viewers.get(peer.id) is peer:
            self.spawn(self._end_viewer(room, peer))

    async def _end_viewer(self, room: Room, peer: Peer) -> None:
        room.viewers.pop(peer.id, None)
        for vt in peer.tracks:
            vt.stop()
        if not any(vt.layer == "thumb" for p in room.viewers.values() for vt in p.tracks):
            feeds.stop_thumbs(room)
        await peer.pc.close()

    async def stop_viewing(self, room_code: str, session_id: str) -> bool:
        """End a WHEP session; False when the room has no such viewer."""
        room = self.rooms.get(room_code)
        peer = room.viewers.get(session_id) if room is not None else None
        if room is None or peer is None:
            return False
        await self._end_viewer(room, peer)
        return True

    # --- recording ----------------------------------------------------------------------------

    async def start_recording(self, room_code: str) -> None:
        """Record the room from now on (at once if a publisher is connected, else when one comes)."""
        room = self._room(room_code)
        room.recording_wanted = True
        if room.recorder is None and room.publisher is not None:
            self._record(room, list(room.sources.values()))

    async def stop_recording(self, room_code: str) -> None:
        """Finish the room's recording (its playlist gets its end) and record no more until asked."""
        room = self._room(room_code)
        room.recording_wanted = False
        await self._finish_recording(room)

    def recording_rooms(self) -> set[str]:
        """Codes of the rooms the hub records (or will, once a publisher comes)."""
        return {code for code, room in self.rooms.items() if room.recording_wanted}

    async def _finish_recording(self, room: Room) -> None:
        recorder, room.recorder = room.recorder, None
        if recorder is None:
            return
        logger.info("room %s: recording %s finished", room.code, room.recording_id)
        room.recording_id = None
        try:
            await recorder.stop()
        except Exception:
            logger.exception("room %s: the recorder did not stop cleanly", room.code)

    # --- watchdog, alerts, state --------------------------------------------------------------

    def _alert(self, room: Room, reason: str, session_id: str | None, seconds: float | None) -> None:
        now = datetime.now(UTC)
        room.stalled = True
        room.alerts.append(StreamAlert(at=now, reason=reason, session_id=session_id))
        logger.warning("room %s: stream stopped (%s, session %s)", room.code, reason, session_id)
        self.audit.submit("av.alert", lambda s: service.log_alert(
            s, room_code=room.code, reason=reason, session_id=session_id, seconds=seconds, at=now))

    async def _watch(self) -> None:
        """Alert on publishers without frames; finish recordings whose publisher did not come back."""
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            now = time.monotonic()
            limit = self.settings.webrtc_stream_stopped_seconds
            for room in list(self.rooms.values()):
                if room.publisher is not None and not room.stalled:
                    quiet = now - max(room.last_frame_mono or 0.0, room.publisher_mono)
                    if quiet >= limit:
                        self._alert(room, "no_frames", room.publisher.id, quiet)
                if room.publisher is None and room.recorder is not None and room.left_mono is not None \
                        and now - room.left_mono >= self.settings.webrtc_recording_linger_seconds:
                    await self._finish_recording(room)

    def public_sessions(self) -> dict[str, tuple[str, str]]:
        """Anonymous viewer sessions: session id -> (room code, token)."""
        return {peer.id: (room.code, peer.opening) for room in self.rooms.values()
                for peer in room.viewers.values() if peer.opening is not None}

    def state(self, room_code: str) -> StreamState:
        """The room's stream as it stands (an unknown room is simply idle)."""
        room = self.rooms.get(room_code) or Room(code=room_code)
        pub = room.publisher
        return StreamState(room_code=room_code, publishing=pub is not None, publisher_session=pub.id if pub else None,
                           publisher_since=pub.since if pub else None, viewers=len(room.viewers),
                           public_viewers=sum(1 for p in room.viewers.values() if p.opening is not None),
                           recording=room.recorder is not None, recording_id=room.recording_id,
                           last_frame_at=room.last_frame_at, stalled=room.stalled, alerts=list(room.alerts))

    async def close(self) -> None:
        """Close every peer, finish every recording, then write the last ledger facts."""
        for background in (self._watchdog, self._schedule):
            if background is not None:
                background.cancel()
        for room in list(self.rooms.values()):
            for viewer in list(room.viewers.values()):
                await self._end_viewer(room, viewer)
            if room.publisher is not None:
                await self._end_publisher(room, room.publisher, replaced=False)
            await self._finish_recording(room)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # The recorders hand their last segments over while stopping; wait for those writes.
        await asyncio.get_running_loop().run_in_executor(None, self.audit.close)


_hub: RoomHub | SfuHub | None = None


def get_hub() -> RoomHub | SfuHub:
    """The process's hub (created on first use): the embedded one, or the SFU's (`av_backend`)."""
    global _hub
    if _hub is None:
        _hub = SfuHub() if get_settings().av_backend == "janus" else RoomHub()
    return _hub


async def shutdown() -> None:
    """Close the hub: every peer connection and recorder (call from the app's lifespan on exit)."""
    global _hub
    hub, _hub = _hub, None
    if hub is not None:
        await hub.close()
