"""Recording timeline: RTP timestamp unwrapping and per-track clocks anchored to arrival time."""

from __future__ import annotations

import logging
from fractions import Fraction

logger = logging.getLogger(__name__)

RTP_MODULUS = 1 << 32
# A step of more than half the 32-bit space is read as going backwards (reordering), not forwards.
_HALF = RTP_MODULUS // 2


class RtpUnwrapper:
    """Turn 32-bit RTP timestamps (which wrap every ~13 h at 90 kHz) into a monotonic-capable integer line."""

    def __init__(self) -> None:
        self._last_raw: int | None = None
        self._value = 0

    def unwrap(self, raw: int) -> int:
        """Return the unwrapped timestamp of `raw` relative to the first one seen."""
        if self._last_raw is None:
            self._last_raw = raw
            return 0
        delta = (raw - self._last_raw) % RTP_MODULUS
        if delta >= _HALF:
            delta -= RTP_MODULUS
        self._last_raw = raw
        self._value += delta
        return self._value


class TrackClock:
    """Seconds on the run's timeline for one track's frames.

    The first frame is placed at its arrival time relative to the run origin; later frames follow the
    track's own (unwrapped RTP) clock, which is smooth where arrival times jitter. If the two drift
    apart by more than `reanchor_seconds` (sender restarted its clock, long stall) the clock re-anchors
    to arrival time.
    """

    def __init__(self, origin: float, *, reanchor_seconds: float = 1.0) -> None:
        self._origin = origin
        self._reanchor = reanchor_seconds
        self._unwrapper = RtpUnwrapper()
        self._anchor_ticks: int | None = None
        self._anchor_seconds = 0.0
        self.reanchors = 0

    def seconds(self, pts: int | None, time_base: Fraction | None, arrival: float) -> float:
        """Timeline position (seconds since the run origin) of a frame that arrived at monotonic `arrival`."""
        wall = arrival - self._origin
        if pts is None or not time_base:
            return wall
        ticks = self._unwrapper.unwrap(pts)
        if self._anchor_ticks is None:
            self._anchor_ticks, self._anchor_seconds = ticks, wall
            return wall
        position = self._anchor_seconds + float((ticks - self._anchor_ticks) * time_base)
        if abs(position - wall) > self._reanchor:
            logger.info("track clock re-anchored to arrival time (it was %.1f s off)", position - wall)
            self._anchor_ticks, self._anchor_seconds = ticks, wall
            self.reanchors += 1
            return wall
        return position
