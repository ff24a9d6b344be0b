"""Bounded hand-over of decoded frames from the event loop to the recorder's encoder thread."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import av

ItemKind = Literal["audio", "video", "end_run", "stop"]


@dataclass(frozen=True)
class QueueItem:
    """A frame (with what the event loop knew when it arrived) or a control message."""

    kind: ItemKind
    frame: av.AudioFrame | av.VideoFrame | av.Packet | None = None
    pts: int | None = None
    time_base: Fraction | None = None
    arrival: float = 0.0
    track_serial: int = 0


class FrameQueue:
    """Frames are dropped (never block) when `bound` of them wait; control messages always go in."""

    def __init__(self, bound: int) -> None:
        self._bound = bound
        self._items: deque[QueueItem] = deque()
        self._frames = 0
        self._cond = threading.Condition()
        self.dropped = 0
        self.high_water = 0

    def put_frame(self, item: QueueItem) -> bool:
        """Enqueue a frame; False (and counted) when the queue is full."""
        with self._cond:
            if self._frames >= self._bound:
                self.dropped += 1
                return False
            self._items.append(item)
            self._frames += 1
            self.high_water = max(self.high_water, self._frames)
            self._cond.notify()
            return True

    def put_control(self, item: QueueItem) -> None:
        """Enqueue a control message regardless of the bound."""
        with self._cond:
            self._items.append(item)
            self._cond.notify()

    def get(self, timeout: float | None = None) -> QueueItem | None:
        """Next item, or None after `timeout` seconds without one."""
        with self._cond:
            if not self._items and not self._cond.wait_for(lambda: bool(self._items), timeout):
                return None
            item = self._items.popleft()
            if item.frame is not None:
                self._frames -= 1
            return item

    def __len__(self) -> int:
        with self._cond:
            return self._frames
