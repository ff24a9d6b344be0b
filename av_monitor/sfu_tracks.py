"""Janus's recording of a stream (.mjr), as the track the room recorder remuxes (H.264 or Opus packets).

Janus writes what it receives; this track reads it back as it grows (sfu.mjr), puts H.264 RTP
packets together into frames with aiortc's depayloader and jitter buffer, and hands each frame
over at the moment Janus received it plus `delay` (its .mjr header and frame times say when): the
recorder's clock sees the publisher's pace, not the bursts in which stdio-buffered files grow.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from aiortc import MediaStreamTrack
from aiortc.codecs.h264 import h264_depayload
from aiortc.jitterbuffer import JitterBuffer
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RtpPacket
from av import Packet

from av_monitor.forward import is_keyframe
from sfu.mjr import MjrError, MjrReader

logger = logging.getLogger(__name__)
PACING_SLACK = 0.1
POLL_SECONDS = 0.2  # the frames are handed over `delay` after Janus got them: reading can lag


def _rtp(raw: bytes) -> RtpPacket | None:
    """The packet's header fields and payload (extensions skipped unparsed: nothing here reads them)."""
    if len(raw) < 12 or raw[0] >> 6 != 2:
        return None
    first, second, seq, timestamp, ssrc = struct.unpack_from("!BBHII", raw)
    at = 12 + 4 * (first & 0x0F)
    if first & 0x10:  # a header extension: 4 bytes and its length in words
        if len(raw) < at + 4:
            return None
        at += 4 + 4 * struct.unpack_from("!H", raw, at + 2)[0]
    end = len(raw) - (raw[-1] if first & 0x20 and raw else 0)
    if at > end:
        return None
    return RtpPacket(payload_type=second & 0x7F, marker=second >> 7, sequence_number=seq, timestamp=timestamp,
                     ssrc=ssrc, payload=raw[at:end])


class MjrTrack(MediaStreamTrack):
    """One .mjr file of Janus's (camera video or microphone) as remuxable packets, until `end`."""

    def __init__(self, path: Path, kind: str, *, keyframe: Callable[[], None], delay: float = 1.5) -> None:
        super().__init__()
        self.kind = kind
        self.mime = "video/h264" if kind == "video" else "audio/opus"
        self.time_base = Fraction(1, 90_000 if kind == "video" else 48_000)
        self.reader = MjrReader(path)
        self._keyframe = keyframe
        self._delay = delay
        self._jitter = JitterBuffer(capacity=128, is_video=True) if kind == "video" else None
        self._ready: deque[tuple[float, Packet]] = deque()
        self._ended = False

    def end(self) -> None:
        """The stream is over (publisher gone): `recv` raises MediaStreamError once the file is read."""
        self._ended = True

    def request_keyframe(self) -> None:
        """The recorder wants a keyframe near a segment boundary: ask the publisher, through Janus."""
        self._keyframe()

    def _take(self) -> None:
        try:
            frames = self.reader.read()
        except MjrError:
            logger.exception("%s: the recording cannot be read further", self.reader.path.name)
            self._ended = True
            return
        info = self.reader.info
        for frame in frames:
            assert info is not None
            due = int(info.get("u", 0)) / 1e6 + frame.millis / 1000 + self._delay
            rtp = _rtp(frame.packet)
            if rtp is None or not rtp.payload:
                continue  # damaged, or padding (bandwidth probes)
            if self._jitter is None:
                self._emit(due, rtp.payload, rtp.timestamp, True)
                continue
            try:
                rtp._data = h264_depayload(rtp.payload)  # type: ignore[attr-defined]  # as aiortc's receiver does
            except ValueError:
                continue
            _, assembled = self._jitter.add(rtp)
            if assembled is not None:
                self._emit(due, assembled.data, assembled.timestamp, is_keyframe(self.mime, assembled.data))

    def _emit(self, due: float, data: bytes, timestamp: int, key: bool) -> None:
        packet = Packet(data)
        packet.pts, packet.time_base, packet.is_keyframe = timestamp, self.time_base, key
        self._ready.append((due, packet))

    async def recv(self) -> Packet:  # type: ignore[override]
        while True:
            if self.readyState != "live":
                self.reader.close()
                raise MediaStreamError
            if not self._ready:
                self._take()
            if self._ready:
                due, packet = self._ready[0]
                wait = due - time.time()
                if wait <= PACING_SLACK:  # several frames per wake-up: the recorder's clock re-anchors only past 1 s
                    self._ready.popleft()
                    return packet
                await asyncio.sleep(min(wait, POLL_SECONDS))
                continue
            if self._ended:
                self.reader.close()
                raise MediaStreamError
            await asyncio.sleep(POLL_SECONDS)
