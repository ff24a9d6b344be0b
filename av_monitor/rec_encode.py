"""One recording run (between reconnects) into fragmented MP4: H.264 + AAC/Opus, one segment per fragment.

Video is either encoded here from decoded pictures (libx264, an IDR at every segment boundary) or,
on the remux path, an H.264 publisher's frames muxed as they came (segments start at the publisher's
keyframes, asked for near each boundary). Audio is always decoded and encoded (cheap, and it keeps
the timeline continuous).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from fractions import Fraction

import av
import numpy as np

from av_monitor.rec_remux import add_video_stream, is_cut, parameter_sets
from av_monitor.rec_segments import FragmentSplitter
from av_monitor.rec_timing import TrackClock
from config.settings import Settings

logger = logging.getLogger(__name__)

VIDEO_CLOCK = 90_000
AUDIO_RATE = 48_000
VIDEO_TB = Fraction(1, VIDEO_CLOCK)
AUDIO_TB = Fraction(1, AUDIO_RATE)
# Audio whose timeline position differs from the samples already queued by more than this is realigned
# (silence inserted or the overlap cut), so audio stays continuous and in step with video.
AUDIO_TOLERANCE = 0.04
# With no audio for this long behind the video, silence is written so the muxer never waits on audio.
AUDIO_LAG_FILL = 1.0
# With no video for this long past a segment boundary, the last picture is repeated as the boundary IDR.
VIDEO_KEEPALIVE = 1.0
MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"
OPUS_FRAME = 960  # samples of a 20 ms Opus frame, as WebRTC sends them

FragmentCallback = Callable[[bytes, float, float], None]


class RunEncoder:
    """Encode one run's frames; emits the init segment, then each fragment with its start and duration."""

    def __init__(self, *, settings: Settings, origin: float, size: tuple[int, int] | None,
                 on_init: Callable[[bytes], None], on_fragment: FragmentCallback, remux: bool = False,
                 remux_audio: bool = False) -> None:
        self._s = settings
        # Remux audio: Opus packets muxed as they came (no decode, no encode), placed by their RTP time.
        self.remux_audio = remux_audio
        # Remux: video comes as H.264 packets; audio before the first keyframe is dropped (the run starts there).
        self.remux = remux
        self._shift = 0.0  # remux: the first keyframe's time, the run's zero
        self._sets = b""  # remux: the run's SPS/PPS
        self.skipped_packets = 0
        self.origin = origin
        self.size = size  # the recording's picture size, fixed once known (later runs reuse it)
        self._on_fragment = on_fragment
        self._splitter = FragmentSplitter(on_init, self._fragment_done)
        self._container: av.container.OutputContainer | None = None
        self._vstream: av.VideoStream | None = None
        self._astream: av.AudioStream | None = None
        self._clocks: dict[int, TrackClock] = {}
        self._seg = settings.recording_segment_seconds
        channels = settings.recording_audio_channels
        self._layout = "mono" if channels == 1 else "stereo"
        self._channels = channels
        self._frame_size = 1024 if settings.recording_audio_codec == "aac" else 960
        self._resampler = av.AudioResampler(format="fltp", layout=self._layout, rate=AUDIO_RATE)
        self._abuf = np.zeros((channels, 0), dtype=np.float32)
        self._audio_written = 0  # samples handed to the encoder
        self._early: list[np.ndarray] = []  # audio chunks before the container opens
        self._last_vpts = -1
        self._last_vt = -1.0
        self._last_picture: av.VideoFrame | None = None
        self._next_key = 0.0
        self._key_times: list[float] = []
        self._fragments = 0
        self.video_frames = 0
        self.audio_samples = 0

    @property
    def clock_resets(self) -> int:
        """Times a track's timestamps jumped and its clock was re-anchored to arrival time."""
        return sum(clock.reanchors for clock in self._clocks.values())

    # --- input -------------------------------------------------------------------------------------
    def _clock(self, serial: int) -> TrackClock:
        if serial not in self._clocks:
            self._clocks[serial] = TrackClock(self.origin)
        return self._clocks[serial]

    def video(self, frame: av.VideoFrame, pts: int | None, time_base: Fraction | None,
              arrival: float, serial: int) -> None:
        """Add a decoded picture."""
        if self.remux:
            return  # a remux run takes packets only (the recorder starts a new run for decoded video)
        t = self._clock(serial).seconds(pts, time_base, arrival)
        if self._container is None:
            self._open((frame.width, frame.height))
        self._fill_audio_gap(t)
        self._encode_picture(self._fit(frame), t)
        self.video_frames += 1

    def video_packet(self, packet: av.Packet, pts: int | None, time_base: Fraction | None,
                     arrival: float, serial: int) -> bool:
        """Add an H.264 frame as it came (remux); False when it needs a new run (new SPS/PPS, or not a remux run)."""
        data, key = bytes(packet), bool(packet.is_keyframe)
        if self._container is None:
            if not key:
                self.skipped_packets += 1  # a run starts at a keyframe
                return True
            self.remux = True
            self._open(None, keyframe=data)
            self._shift = self._clock(serial).seconds(pts, time_base, arrival)
        elif not self.remux or (key and (sets := parameter_sets(data)) and sets != self._sets):
            return False
        assert self._container is not None and self._vstream is not None
        t = self._clock(serial).seconds(pts, time_base, arrival) - self._shift
        self._fill_audio_gap(t)
        vpts = max(round(t * VIDEO_CLOCK), self._last_vpts + 1)
        cut = key and is_cut(vpts / VIDEO_CLOCK, self._next_key if self._key_times else None)
        if cut:
            self._key_times.append(vpts / VIDEO_CLOCK)
            self._next_key = vpts / VIDEO_CLOCK + self._seg
        out = av.Packet(data)
        out.pts = out.dts = vpts
        out.time_base = VIDEO_TB
        out.stream = self._vstream
        out.is_keyframe = cut  # the muxer starts a fragment (a segment) at each sync sample
        self._last_vpts, self._last_vt = vpts, vpts / VIDEO_CLOCK
        self._container.mux(out)
        self.video_frames += 1
        return True

    def audio_packet(self, packet: av.Packet, pts: int | None, time_base: Fraction | None,
                     arrival: float, serial: int) -> None:
        """Add an Opus frame as it came (remux audio); one that overlaps the last is dropped."""
        if self._container is None:
            return  # the run starts with its video (at the first keyframe when remuxed)
        assert self._astream is not None
        t = self._clock(serial).seconds(pts, time_base, arrival) - self._shift
        apts = round(t * AUDIO_RATE)
        if apts < self._audio_written:
            return
        out = av.Packet(bytes(packet))
        out.pts = out.dts = apts
        out.time_base = AUDIO_TB
        out.stream = self._astream
        self._audio_written = apts + OPUS_FRAME  # the timeline reached; the next frame's time corrects it
        self.audio_samples += OPUS_FRAME
        self._container.mux(out)
        self._keepalive_video()

    def audio(self, frame: av.AudioFrame, pts: int | None, time_base: Fraction | None,
              arrival: float, serial: int) -> None:
        """Add decoded audio samples."""
        if self.remux_audio or (self.remux and self._container is None):
            return  # the run starts at the first keyframe
        t = self._clock(serial).seconds(pts, time_base, arrival) - self._shift
        chunks = [f.to_ndarray() for f in self._resampler.resample(frame)]
        if not chunks:
            return
        samples = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
        position = round(t * AUDIO_RATE)
        expected = self._audio_written + self._abuf.shape[1] + sum(c.shape[1] for c in self._early)
        drift = position - expected
        if drift > AUDIO_TOLERANCE * AUDIO_RATE:
            self._append_audio(np.zeros((self._channels, drift), dtype=np.float32))
        elif drift < -AUDIO_TOLERANCE * AUDIO_RATE:
            samples = samples[:, -drift:]
        if samples.shape[1]:
            self._append_audio(samples)
        if self._container is None and self._queued_audio_seconds() > self._s.recording_video_wait_seconds:
            logger.info("no video after %.1f s of audio: recording a black picture", self._queued_audio_seconds())
            self._open(None)
        self._keepalive_video()

    # --- output ------------------------------------------------------------------------------------
    def _open(self, size: tuple[int, int] | None, keyframe: bytes | None = None) -> None:
        container = av.open(self._splitter, mode="w", format="mp4", options={"movflags": MOVFLAGS})
        if keyframe is not None:
            try:
                v = add_video_stream(container, keyframe)
            except BaseException:
                container.close()
                raise
            self.size, self._sets = (v.codec_context.width, v.codec_context.height), parameter_sets(keyframe)
            v.time_base = VIDEO_TB
            self._add_audio(container, v)
            return
        if self.size is None:
            w, h = size or (self._s.recording_default_width, self._s.recording_default_height)
            self.size = (w - w % 2, h - h % 2)
        v = container.add_stream("libx264", rate=25, options={
            "preset": self._s.recording_x264_preset, "tune": "zerolatency", "crf": str(self._s.recording_x264_crf),
            # Keyframes only where the recorder forces them (segment starts): fixed-time GOP, one fragment each.
            "forced-idr": "1", "x264-params": "keyint=infinite:scenecut=0",
        })
        v.width, v.height = self.size
        v.pix_fmt = "yuv420p"
        v.time_base = VIDEO_TB
        v.codec_context.time_base = VIDEO_TB
        v.codec_context.thread_count = self._s.recording_x264_threads
        self._add_audio(container, v)

    def _add_audio(self, container: av.container.OutputContainer, v: av.VideoStream) -> None:
        if self.remux_audio:
            # An Opus stream whose encoder only writes the set-up (OpusHead); packets come already encoded.
            opus = container.add_stream("libopus", rate=AUDIO_RATE, layout=self._layout)
            assert isinstance(opus, av.AudioStream)
            opus.time_base = AUDIO_TB
            self._container, self._vstream, self._astream = container, v, opus
            self._early = []
            return
        a = container.add_stream(self._s.recording_audio_codec, rate=AUDIO_RATE, layout=self._layout)
        assert isinstance(a, av.AudioStream)
        a.bit_rate = self._s.recording_audio_bitrate
        a.time_base = AUDIO_TB
        self._container, self._vstream, self._astream = container, v, a
        for chunk in self._early:
            self._append_audio(chunk)
        self._early = []

    def _queued_audio_seconds(self) -> float:
        return sum(c.shape[1] for c in self._early) / AUDIO_RATE

    def _fit(self, frame: av.VideoFrame) -> av.VideoFrame:
        assert self.size is not None
        w, h = self.size
        if frame.width != w or frame.height != h or frame.format.name != "yuv420p":
            return frame.reformat(width=w, height=h, format="yuv420p")
        # A copy: the frame may be shared with live viewers (MediaRelay), and encoding sets its pts.
        return av.VideoFrame.from_ndarray(frame.to_ndarray(), format="yuv420p")

    def _black(self) -> av.VideoFrame:
        assert self.size is not None
        w, h = self.size
        plane = np.full((h * 3 // 2, w), 128, dtype=np.uint8)
        plane[:h] = 16
        return av.VideoFrame.from_ndarray(plane, format="yuv420p")

    def _encode_picture(self, frame: av.VideoFrame, t: float) -> None:
        assert self._vstream is not None
        if not self._key_times and t > 0.5 / 25:
            # The first sample of every track must be at 0: the fragmented muxer cannot shift a track's start.
            self._encode_picture(self._black(), 0.0)
        if not self._key_times:
            t = 0.0
        pts = round(t * VIDEO_CLOCK)
        if pts <= self._last_vpts:
            pts = self._last_vpts + VIDEO_CLOCK // 100  # monotonic, catching up gradually
        key = t >= self._next_key - 1e-3
        if key:
            self._key_times.append(pts / VIDEO_CLOCK)
            self._next_key = (math.floor(pts / VIDEO_CLOCK / self._seg) + 1) * self._seg
        frame.pts = pts
        frame.time_base = VIDEO_TB
        # Decoded frames carry their source's picture type; only the recorder decides where IDRs go.
        frame.pict_type = av.video.frame.PictureType.I if key else av.video.frame.PictureType.NONE
        self._last_vpts, self._last_vt, self._last_picture = pts, pts / VIDEO_CLOCK, frame
        self._mux(self._vstream.encode(frame))

    def _keepalive_video(self) -> None:
        if self._container is None or self.remux:  # remux: no encoder to repeat a picture with
            return
        audio_t = self._audio_written / AUDIO_RATE
        if audio_t > self._next_key + VIDEO_KEEPALIVE and self._last_vt < self._next_key:
            self._encode_picture(self._last_picture or self._black(), self._next_key)

    def _fill_audio_gap(self, video_t: float) -> None:
        if self.remux_audio:
            return  # no encoder for silence: a gap in Opus packets stays a gap in time
        queued = (self._audio_written + self._abuf.shape[1]) / AUDIO_RATE
        if queued < video_t - AUDIO_LAG_FILL:
            missing = round((video_t - AUDIO_LAG_FILL / 2) * AUDIO_RATE) - self._audio_written - self._abuf.shape[1]
            self._append_audio(np.zeros((self._channels, missing), dtype=np.float32))

    def _append_audio(self, samples: np.ndarray) -> None:
        if self._container is None:
            self._early.append(samples)
            return
        self._abuf = np.concatenate([self._abuf, samples], axis=1)
        while self._abuf.shape[1] >= self._frame_size:
            self._encode_audio(self._abuf[:, : self._frame_size])
            self._abuf = self._abuf[:, self._frame_size:]

    def _encode_audio(self, chunk: np.ndarray) -> None:
        assert self._astream is not None
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout=self._layout)
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._audio_written
        frame.time_base = AUDIO_TB
        self._audio_written += chunk.shape[1]
        self.audio_samples += chunk.shape[1]
        self._mux(self._astream.encode(frame))

    def _mux(self, packets: list[av.Packet]) -> None:
        assert self._container is not None
        for packet in packets:
            self._container.mux(packet)

    def _fragment_done(self, data: bytes) -> None:
        index = self._fragments
        self._fragments += 1
        start = self._key_times[index] if index < len(self._key_times) else self._end_time()
        end = self._key_times[index + 1] if index + 1 < len(self._key_times) else self._end_time()
        self._on_fragment(data, start, max(0.0, end - start))

    def _end_time(self) -> float:
        return max(self._last_vt + 1 / 25 if self._last_vt >= 0 else 0.0, self._audio_written / AUDIO_RATE)

    def close(self) -> None:
        """Flush the encoders and the muxer: the open fragment becomes the run's last segment."""
        if self._container is None and self._early:
            self._open(None)
        if self._container is None:
            return
        if self._last_vt < 0 and not self.remux:
            self._encode_picture(self._black(), 0.0)
        assert self._vstream is not None and self._astream is not None
        if self._abuf.shape[1]:
            pad = np.zeros((self._channels, self._frame_size - self._abuf.shape[1]), dtype=np.float32)
            self._encode_audio(np.concatenate([self._abuf, pad], axis=1))
            self._abuf = self._abuf[:, :0]
        if not self.remux:
            self._mux(self._vstream.encode(None))
        if not self.remux_audio:
            self._mux(self._astream.encode(None))
        self._container.close()
        self._container = None
