"""H.264 remux for the recorder: a publisher's Annex B frames go into the fMP4 run as they came.

aiortc's depayloader hands each reassembled H.264 frame over as Annex B (NAL units after
`00 00 00 01`). The muxer needs the stream's parameters (size, SPS/PPS) before the first sample:
they are read from the first IDR by probing it with FFmpeg's raw H.264 demuxer, so no decoder
runs. A keyframe whose SPS/PPS differ (the publisher changed its picture size) cannot join the
run's init segment: the recorder starts a new run for it.
"""

from __future__ import annotations

import io

import av

START_CODE = b"\x00\x00\x00\x01"
NAL_SPS, NAL_PPS, NAL_IDR = 7, 8, 5


class RemuxError(ValueError):
    """An H.264 frame the remux path cannot start a run with (no SPS/PPS in the keyframe)."""


def nal_units(data: bytes) -> list[bytes]:
    """The NAL units of an Annex B frame (4- or 3-byte start codes)."""
    units: list[bytes] = []
    for part in data.split(START_CODE):
        units.extend(u for u in part.split(b"\x00\x00\x01") if u)
    return units


def parameter_sets(data: bytes) -> bytes:
    """The frame's SPS and PPS units, joined (empty when it carries none)."""
    return b"".join(START_CODE + u for u in nal_units(data) if u[0] & 0x1F in (NAL_SPS, NAL_PPS))


def add_video_stream(container: av.container.OutputContainer, keyframe: bytes) -> av.VideoStream:
    """A video stream of `container` set up from the SPS/PPS of `keyframe` (probed, not decoded)."""
    if not {NAL_SPS, NAL_PPS} <= {u[0] & 0x1F for u in nal_units(keyframe)}:
        raise RemuxError("the H.264 keyframe carries no SPS/PPS")
    try:
        with av.open(io.BytesIO(keyframe), format="h264") as probe:
            template = probe.streams.video[0]
            if not template.codec_context.width:
                raise RemuxError("the H.264 keyframe's SPS gives no picture size")
            stream = container.add_stream_from_template(template)
    except av.FFmpegError as exc:
        raise RemuxError(f"unreadable H.264 keyframe: {exc}") from exc
    assert isinstance(stream, av.VideoStream)
    return stream


# A keyframe this close before a segment boundary starts the next segment (the publisher's answer to
# the recorder's request arrives a round trip late, and a cut must wait for a keyframe).
CUT_EARLY = 0.5
# The recorder asks for a keyframe this long before a boundary.
ASK_LEAD = 0.3


def is_cut(t: float, next_cut: float | None) -> bool:
    """True when a keyframe at `t` starts a new segment (the first one, or one near or past the boundary)."""
    return next_cut is None or t >= next_cut - CUT_EARLY


class KeyframePacer:
    """When the recorder should ask the publisher for a keyframe: as each segment boundary nears."""

    def __init__(self, segment_seconds: float) -> None:
        self._seg = segment_seconds
        self._next: float | None = None

    def due(self, now: float, key: bool) -> bool:
        """Note a frame arriving at monotonic `now`; True when a keyframe should be asked for now."""
        if key and is_cut(now, self._next):
            self._next = now + self._seg
            return False
        return self._next is not None and now >= self._next - ASK_LEAD
