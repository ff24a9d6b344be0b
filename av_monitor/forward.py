"""Forwarding: viewers get the publisher's encoded frames, packetized again, never decoded or encoded.

aiortc's receiver reassembles each RTP frame in its jitter buffer and hands `(codec, frame)` to a
decoder thread through a queue; its sender packetizes an `av.Packet` without encoding
(`RTCRtpSender._next_encoded_frame` calls the codec's `pack`). `TeeQueue` stands in for that queue:
every reassembled frame goes to the room's `Fanout`, which copies it to each forwarding viewer's
`PacketSource`, and to the decoder only while someone needs pictures (a recorder on the transcoding
path, a viewer whose browser cannot take the publisher's codec). A room with forwarding viewers only
costs no decoder and no encoder.

A forwarding viewer starts at a keyframe: it drops frames until one comes and asks the publisher
for one (RTCP PLI, at most once per `webrtc_keyframe_min_interval_seconds` per track), and a
viewer's own PLI/FIR is passed on the same way. A viewer that falls behind (its queue full) drops
what it holds and waits for the next keyframe, so a slow link never grows memory.

This reaches into aiortc 1.x's receiver (`_RTCRtpReceiver__decoder_queue`, `_send_rtcp_pli`):
`attach` checks that both exist and otherwise returns None, and the hub then transcodes as before.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import time
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError
from av.packet import Packet

from av_monitor.rec_remux import NAL_IDR, nal_units

logger = logging.getLogger(__name__)
DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
VIDEO_QUEUE = 60  # frames a forwarding viewer may hold (4 s at 15 fps) before it drops to a keyframe
AUDIO_QUEUE = 100  # 2 s of 20 ms Opus frames


def is_keyframe(mime: str, data: bytes) -> bool:
    """True when the reassembled frame starts a picture on its own (VP8 key frame, H.264 IDR)."""
    mime = mime.lower()
    if mime == "video/vp8":
        return bool(data) and data[0] & 0x01 == 0
    if mime == "video/h264":
        # Annex B as aiortc's depayloader writes it: NAL units after start codes.
        return any(unit[0] & 0x1F == NAL_IDR for unit in nal_units(data))
    return True  # audio: every frame decodes on its own


class PacketSource(MediaStreamTrack):
    """One forwarding viewer's feed from a `Fanout`: `av.Packet`s with the publisher's timing."""

    def __init__(self, fanout: Fanout) -> None:
        super().__init__()
        self.kind = fanout.kind
        self.mime = fanout.mime
        self._fanout = fanout
        self._queue: asyncio.Queue[Packet | None] = asyncio.Queue(
            VIDEO_QUEUE if fanout.kind == "video" else AUDIO_QUEUE)
        self._waiting_for_key = fanout.kind == "video"

    def offer(self, data: bytes, timestamp: int, key: bool) -> None:
        """Queue a frame (on the loop); drop to the next keyframe when the viewer is behind."""
        if self._waiting_for_key and not key:
            return
        if self._queue.full():
            while not self._queue.empty():
                self._queue.get_nowait()
            if self.kind == "video":
                self._waiting_for_key = True
                self._fanout.request_keyframe()
                if not key:
                    return
        self._waiting_for_key = False
        packet = Packet(data)
        packet.pts = timestamp
        packet.time_base = self._fanout.time_base
        packet.is_keyframe = key  # for the recorder (the sender packetizes it either way)
        self._queue.put_nowait(packet)

    def end(self) -> None:
        """The publisher's track ended: `recv` raises MediaStreamError once the queue is read."""
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    def request_keyframe(self) -> None:
        """Pass a viewer's picture-loss report on to the publisher."""
        self._fanout.request_keyframe()

    async def recv(self) -> Packet:  # type: ignore[override]
        """The next encoded frame."""
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self._queue.get()
        if packet is None:
            self.stop()
            raise MediaStreamError
        return packet

    def stop(self) -> None:
        """Leave the fanout."""
        super().stop()
        self._fanout.subscribers.discard(self)


class Fanout:
    """The encoded frames of one publisher track, copied to every forwarding viewer."""

    def __init__(self, *, kind: str, mime: str, clock_rate: int, ask_keyframe: Callable[[], None],
                 on_frame: Callable[[], None], min_keyframe_interval: float) -> None:
        self.kind, self.mime = kind, mime.lower()
        self.time_base = Fraction(1, clock_rate)
        self.subscribers: set[PacketSource] = set()
        self.frames = 0
        self.keyframe_requests = 0
        self.bytes = 0
        self._ask_keyframe = ask_keyframe
        self._on_frame = on_frame
        self._min_interval = min_keyframe_interval
        self._last_request = -float("inf")

    def push(self, codec: Any, frame: Any) -> bool:
        """Hand a reassembled frame to every subscriber (on the loop); True when it is a keyframe."""
        self.frames += 1
        self.bytes += len(frame.data)
        self._on_frame()
        key = is_keyframe(codec.mimeType, frame.data)
        for source in list(self.subscribers):
            source.offer(frame.data, frame.timestamp, key)
        return key

    def subscribe(self) -> PacketSource:
        """A new forwarding viewer's feed (it starts at the next keyframe, asked for now)."""
        source = PacketSource(self)
        self.subscribers.add(source)
        if self.kind == "video":
            self.request_keyframe()
        return source

    def request_keyframe(self) -> None:
        """Ask the source (publisher or encoder) for a keyframe, rate-limited."""
        now = time.monotonic()
        if self.kind != "video" or now - self._last_request < self._min_interval:
            return
        self._last_request = now
        self.keyframe_requests += 1
        self._ask_keyframe()

    def end(self) -> None:
        """The publisher's track ended."""
        for source in list(self.subscribers):
            source.end()


class TeeQueue:
    """Stands in for an aiortc receiver's decoder queue: frames to the fanout, and to the decoder when wanted."""

    def __init__(self, inner: queue.Queue[Any], fanout: Fanout, decode_wanted: Callable[[], bool]) -> None:
        self._inner = inner
        self._fanout = fanout
        self._decode_wanted = decode_wanted
        self._decoding = False
        self.decoded = 0

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        """Called by the receiver on the loop with (codec, frame), or None when it stops."""
        if item is None:
            self._inner.put(None)
            self._fanout.end()
            return
        codec, frame = item
        key = self._fanout.push(codec, frame)
        if not self._decode_wanted():
            self._decoding = False
            return
        if not self._decoding:
            if not key:  # a decoder fed from a delta frame only errs: start it at a keyframe
                self._fanout.request_keyframe()
                return
            self._decoding = True
        self.decoded += 1
        self._inner.put(item)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # get() and the rest, for a decoder thread started later


def send_pli(receiver: Any) -> None:
    """Ask a publisher for a keyframe: RTCP PLI to each of its synchronization sources."""
    for source in receiver.getSynchronizationSources():
        asyncio.ensure_future(receiver._send_rtcp_pli(source.source))


def attach(pc: RTCPeerConnection, track: MediaStreamTrack, *, on_frame: Callable[[], None],
           decode_wanted: Callable[[], bool], min_keyframe_interval: float) -> Fanout | None:
    """Tee the receiver of `track` into a new Fanout; None when this aiortc offers no way in (then transcode)."""
    for transceiver in pc.getTransceivers():
        receiver = transceiver.receiver
        if receiver.track is not track:
            continue
        inner = getattr(receiver, DECODER_QUEUE, None)
        codecs = getattr(transceiver, "_codecs", None)
        if not isinstance(inner, queue.Queue) or not codecs or not hasattr(receiver, "_send_rtcp_pli"):
            logger.warning("forwarding unavailable with this aiortc (receiver internals differ): transcoding")
            return None
        codec = codecs[0]
        fanout = Fanout(kind=track.kind, mime=codec.mimeType, clock_rate=codec.clockRate,
                        ask_keyframe=functools.partial(send_pli, receiver), on_frame=on_frame,
                        min_keyframe_interval=min_keyframe_interval)
        setattr(receiver, DECODER_QUEUE, TeeQueue(inner, fanout, decode_wanted))
        return fanout
    return None


def remuxed_kinds(fanouts: dict[str, Fanout], remux: bool) -> set[str]:
    """The kinds a recorder takes as packets: H.264 video, and then Opus audio; none without H.264 (transcoding)."""
    video, audio = fanouts.get("video"), fanouts.get("audio")
    if not remux or video is None or video.mime != "video/h264":
        return set()
    return {"video", "audio"} if audio is not None and audio.mime == "audio/opus" else {"video"}


def negotiated_mime(pc: RTCPeerConnection, kind: str) -> str | None:
    """The codec a connection negotiated for `kind` (lower-case MIME type), None before negotiation."""
    for transceiver in pc.getTransceivers():
        codecs = getattr(transceiver, "_codecs", None)
        if transceiver.kind == kind and codecs:
            return str(codecs[0].mimeType).lower()
    return None


def prefer(transceiver: Any, mime: str) -> bool:
    """Narrow a viewer's negotiated codecs to `mime` (with its RTX) before the answer; False when it lacks it."""
    codecs = getattr(transceiver, "_codecs", None) or []
    kept = [c for c in codecs if str(c.mimeType).lower() == mime]
    if not kept:
        return False
    kept_types = {c.payloadType for c in kept}
    rtx = [c for c in codecs if str(c.mimeType).lower().endswith("/rtx")
           and int(c.parameters.get("apt", -1)) in kept_types]
    transceiver._codecs = kept + rtx
    return True
