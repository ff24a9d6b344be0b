"""Room recorder: aiortc tracks in, HLS (fMP4 segments) out, encoding in a worker thread.

The event loop only receives frames and hands them to a bounded queue (dropping, never blocking,
when the encoder falls behind). One thread per room encodes H.264 + AAC into fragmented MP4, or,
when the video track gives H.264 packets (`av_monitor.forward.PacketSource`), muxes them as they
came and asks the publisher for a keyframe near each segment boundary (`rec_remux`). Every fragment
is one segment starting with an IDR frame, written to a temporary name, renamed, hashed, reported
through `on_segment` and then listed in the playlist. A crash loses at most the segment being
written. `track_ended()` followed by `add_track()` continues the same recording with a
discontinuity (new init segment, `gap_before=True`); so does a remuxed publisher's change of
picture size (new SPS/PPS).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from av_monitor.rec_encode import RunEncoder
from av_monitor.rec_queue import FrameQueue, ItemKind, QueueItem
from av_monitor.rec_remux import KeyframePacer, RemuxError
from av_monitor.rec_segments import PLAYLIST_NAME, Playlist, PlaylistEntry, sha256_hex, write_atomic
from config.settings import Settings, get_settings

logger = logging.getLogger(__name__)

_DROP_LOG_INTERVAL = 5.0


@dataclass(frozen=True)
class SegmentInfo:
    """A closed, renamed and hashed segment of a room recording."""

    room_code: str
    recording_id: str  # one id per continuous room recording (survives reconnects)
    index: int  # 0, 1, 2 … within the recording
    path: Path  # the closed fMP4 segment file (relative names are listed in the playlist)
    sha256: str  # hex of the file's bytes as closed
    duration: float  # seconds
    started_at: datetime  # wall-clock (UTC) of its first sample
    gap_before: bool  # True when the publisher dropped/reconnected before this segment
    # Beyond the shared interface: the init segment (codec set-up) a player loads before this segment.
    init_path: Path | None = None
    init_sha256: str = ""
    video: str = "transcode"  # how the run's video was recorded: "remux" (as the publisher sent it) or "transcode"
    audio: str = "transcode"  # the same for its audio (Opus remuxed, or decoded and encoded)


@dataclass
class _Run:
    encoder: RunEncoder
    wall_origin: datetime
    init_name: str
    gap_before: bool
    segments: int = 0
    init_sha256: str = ""


class RoomRecorder:
    """Record one room's audio and video tracks as an HLS fMP4 recording in `directory / recording_id`."""

    def __init__(self, *, room_code: str, directory: Path, on_segment: Callable[[SegmentInfo], None],
                 settings: Settings | None = None, recording_id: str | None = None) -> None:
        self._s = settings or get_settings()
        self.room_code = room_code
        self.recording_id = recording_id or f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
        self.directory = Path(directory) / self.recording_id
        self.directory.mkdir(parents=True, exist_ok=True)
        for stale in self.directory.glob("*.tmp"):
            stale.unlink()  # a file being written when the process died
        self._on_segment = on_segment
        self._playlist = Playlist.load(self.directory / PLAYLIST_NAME, target_seconds=self._s.recording_segment_seconds)
        self._playlist.ended = False
        self._next_index = len(self._playlist.entries)
        self._runs_started = len({e.init_name for e in self._playlist.entries})
        # Continuing an existing recording (service restarted): the first new segment follows a gap.
        self._gap_pending = bool(self._playlist.entries)
        self._size: tuple[int, int] | None = None
        self._queue = FrameQueue(self._s.recording_queue_frames)
        self._serials = itertools.count(1)
        self._pumps: set[asyncio.Task[None]] = set()
        self._last_drop_log = 0.0
        self._stopping = False
        self._clock_resets = 0
        self._remux = False  # the current video track gives H.264 packets
        self._remux_audio = False  # the current audio track gives Opus packets
        self.segments: list[SegmentInfo] = []
        self._thread = threading.Thread(target=self._work, name=f"recorder-{room_code}", daemon=True)
        self._thread.start()

    @property
    def playlist(self) -> Path:
        """The HLS media playlist (index.m3u8) of this recording."""
        return self._playlist.path

    @property
    def dropped_frames(self) -> int:
        """Frames dropped because the encoder thread fell behind."""
        return self._queue.dropped

    @property
    def clock_resets(self) -> int:
        """Timestamp jumps that re-anchored a track to arrival time (counted as runs close)."""
        return self._clock_resets

    @property
    def queue_high_water(self) -> int:
        """Most frames that waited in the queue at once."""
        return self._queue.high_water

    # --- event-loop side ---------------------------------------------------------------------------
    def add_track(self, track: MediaStreamTrack) -> None:
        """Start recording an audio or video track (again after `track_ended`, for a reconnect)."""
        if self._stopping:
            raise RuntimeError("recorder is stopped")
        if track.kind not in ("audio", "video"):
            raise ValueError(f"unsupported track kind {track.kind!r}")
        mime = getattr(track, "mime", "")  # a PacketSource's: the recorder gets packets to remux
        if track.kind == "video":
            self._remux = bool(mime == "video/h264" and self._s.recording_remux)
        else:
            self._remux_audio = bool(mime == "audio/opus" and self._s.recording_remux)
        task = asyncio.get_running_loop().create_task(self._pump(track, next(self._serials)))
        self._pumps.add(task)
        task.add_done_callback(self._pumps.discard)

    def track_ended(self) -> None:
        """The publisher went away: close the current run; the next `add_track` continues after a gap."""
        for task in list(self._pumps):
            task.cancel()
        self._queue.put_control(QueueItem("end_run"))

    async def stop(self) -> None:
        """Flush and close the open segment and finish the playlist (EXT-X-ENDLIST)."""
        if not self._stopping:
            self._stopping = True
            pumps = list(self._pumps)
            for task in pumps:
                task.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            self._queue.put_control(QueueItem("stop"))
        await asyncio.to_thread(self._thread.join)

    async def _pump(self, track: MediaStreamTrack, serial: int) -> None:
        try:
            await self._pump_frames(track, serial)
        finally:
            # A relay's buffered proxy keeps queueing frames until stopped: a recorder that stops
            # reading must stop it, or every frame of a still-publishing room piles up in memory.
            track.stop()

    async def _pump_frames(self, track: MediaStreamTrack, serial: int) -> None:
        kind: ItemKind = "audio" if track.kind == "audio" else "video"
        pacer = KeyframePacer(self._s.recording_segment_seconds)
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                logger.info("room %s: %s track ended", self.room_code, kind)
                return
            if isinstance(frame, av.Packet):
                if kind == "video" and pacer.due(time.monotonic(), bool(frame.is_keyframe)):
                    track.request_keyframe()  # type: ignore[attr-defined]  # a PacketSource's
            elif not isinstance(frame, av.AudioFrame | av.VideoFrame):
                continue
            item = QueueItem(kind, frame, frame.pts, frame.time_base, time.monotonic(), serial)
            if not self._queue.put_frame(item):
                now = time.monotonic()
                if now - self._last_drop_log > _DROP_LOG_INTERVAL:
                    self._last_drop_log = now
                    logger.warning("room %s: encoder behind, %d frames dropped so far",
                                   self.room_code, self._queue.dropped)

    # --- worker thread -----------------------------------------------------------------------------
    def _work(self) -> None:
        run: _Run | None = None
        while True:
            item = self._queue.get()
            if item is None:
                continue
            if item.kind in ("stop", "end_run"):
                if run is not None:
                    self._close_run(run)
                    self._gap_pending = True
                    run = None
                if item.kind == "stop":
                    self._playlist.finish()
                    logger.info("room %s: recording %s stopped, %d segments, %d frames dropped",
                                self.room_code, self.recording_id, len(self.segments), self._queue.dropped)
                    return
                continue
            if run is None:
                run = self._start_run(item.arrival)
            try:
                if isinstance(item.frame, av.Packet) and item.kind == "audio":
                    run.encoder.audio_packet(item.frame, item.pts, item.time_base, item.arrival, item.track_serial)
                elif isinstance(item.frame, av.Packet):
                    if not run.encoder.video_packet(item.frame, item.pts, item.time_base, item.arrival,
                                                    item.track_serial):
                        # New SPS/PPS (picture size changed): a new init segment, after a discontinuity.
                        self._close_run(run)
                        self._gap_pending = True
                        run = self._start_run(item.arrival)
                        run.encoder.video_packet(item.frame, item.pts, item.time_base, item.arrival,
                                                 item.track_serial)
                elif item.kind == "video":
                    assert isinstance(item.frame, av.VideoFrame)
                    run.encoder.video(item.frame, item.pts, item.time_base, item.arrival, item.track_serial)
                else:
                    assert isinstance(item.frame, av.AudioFrame)
                    run.encoder.audio(item.frame, item.pts, item.time_base, item.arrival, item.track_serial)
            except RemuxError as exc:
                logger.warning("room %s: video frame not recorded: %s", self.room_code, exc)
            except (av.FFmpegError, ValueError):
                logger.exception("room %s: %s frame not recorded", self.room_code, item.kind)
            except Exception:
                # Anything else (a full disk, say) leaves the run in an unknown state: end it and start anew.
                logger.exception("room %s: recording run failed; continuing after a gap", self.room_code)
                self._close_run(run)
                self._gap_pending = True
                run = None

    def _start_run(self, origin: float) -> _Run:
        wall = datetime.now(UTC) - timedelta(seconds=time.monotonic() - origin)
        init_name = f"init-{self._runs_started:03d}.mp4"
        self._runs_started += 1
        run: _Run

        def on_init(data: bytes) -> None:
            write_atomic(self.directory / init_name, data)
            run.init_sha256 = sha256_hex(data)

        def on_fragment(data: bytes, start: float, duration: float) -> None:
            self._close_segment(run, data, start, duration)

        encoder = RunEncoder(settings=self._s, origin=origin, size=self._size, on_init=on_init,
                             on_fragment=on_fragment, remux=self._remux, remux_audio=self._remux_audio)
        run = _Run(encoder, wall, init_name, self._gap_pending)
        self._gap_pending = False
        return run

    def _close_run(self, run: _Run) -> None:
        try:
            run.encoder.close()
        except Exception:
            logger.exception("room %s: closing the run failed; its open segment is lost", self.room_code)
        self._size = run.encoder.size or self._size
        self._clock_resets += run.encoder.clock_resets

    def _close_segment(self, run: _Run, data: bytes, start: float, duration: float) -> None:
        index = self._next_index
        self._next_index += 1
        name = f"seg-{index:06d}.m4s"
        path = self.directory / name
        write_atomic(path, data)
        info = SegmentInfo(
            room_code=self.room_code, recording_id=self.recording_id, index=index, path=path,
            sha256=sha256_hex(data), duration=duration, started_at=run.wall_origin + timedelta(seconds=start),
            gap_before=run.gap_before and run.segments == 0,
            init_path=self.directory / run.init_name, init_sha256=run.init_sha256,
            video="remux" if run.encoder.remux else "transcode",
            audio="remux" if run.encoder.remux_audio else "transcode",
        )
        run.segments += 1
        self.segments.append(info)
        try:
            self._on_segment(info)
        except Exception:  # the recording must go on; the caller's failure is its own to report
            logger.exception("room %s: on_segment failed for segment %d", self.room_code, index)
        self._playlist.add(PlaylistEntry(name, duration, info.started_at, run.init_name, info.gap_before))
