"""The hub's per-room state: sessions (peers), rooms, what the hub needs of a recorder, its errors."""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from aiortc import MediaStreamTrack, RTCPeerConnection

from av_monitor.forward import Fanout
from av_monitor.models import StreamAlert
from av_monitor.thumbs import Thumbnailer
from av_monitor.tracks import ViewerTrack

MAX_ALERTS_KEPT = 20


class Recorder(Protocol):
    """What the hub needs of `av_monitor.recorder.RoomRecorder`."""

    def add_track(self, track: MediaStreamTrack) -> None: ...
    def track_ended(self) -> None: ...
    async def stop(self) -> None: ...


RecorderFactory = Callable[..., Recorder]


class OfferError(ValueError):
    """The SDP offer cannot be used; `field` names what is wrong."""

    def __init__(self, message: str, field: str = "sdp") -> None:
        super().__init__(message)
        self.field = field


class TooManyViewers(RuntimeError):
    """The room already has the most viewers allowed."""


class Unavailable(RuntimeError):
    """The A/V back end (the SFU) cannot be reached now."""


class NotPublishing(RuntimeError):
    """The room has no publisher to watch (the SFU back end cannot wait for one)."""


@dataclass
class Peer:
    """One WHIP or WHEP session."""

    id: str
    pc: RTCPeerConnection
    actor: str
    since: datetime
    tracks: list[ViewerTrack] = field(default_factory=list)
    opening: str | None = None  # an anonymous viewer's watch-link token (public openings)


@dataclass
class Room:
    """The hub's state of one room."""

    code: str
    publisher: Peer | None = None
    sources: dict[str, MediaStreamTrack] = field(default_factory=dict)  # kind -> publisher's track
    fanouts: dict[str, Fanout] = field(default_factory=dict)  # kind -> publisher's encoded frames
    recorder_packets: set[str] = field(default_factory=set)  # kinds the recorder remuxes (no decoded frames)
    thumbs: Thumbnailer | None = None  # the wall tiles' shared small encode, while a tile watches
    viewers: dict[str, Peer] = field(default_factory=dict)
    recorder: Recorder | None = None
    recording_id: str | None = None
    recording_wanted: bool = False
    last_frame_mono: float | None = None
    last_frame_at: datetime | None = None
    publisher_mono: float = 0.0
    left_mono: float | None = None  # when the last publisher left
    stalled: bool = False
    alerts: deque[StreamAlert] = field(default_factory=lambda: deque(maxlen=MAX_ALERTS_KEPT))


def new_id() -> str:
    """An unguessable session id (it is part of the resource URL)."""
    return secrets.token_urlsafe(16)


def new_recording_id(now: datetime) -> str:
    """A recording id that sorts by start time."""
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
