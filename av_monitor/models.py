"""Shapes of the A/V monitoring API (no tables: the hub's state lives in memory, facts go to the ledger)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel


class StreamAlert(SQLModel):
    """One stream alert of a room (also written to the ledger as `av.alert`)."""

    at: datetime
    reason: str = Field(description="`no_frames` (nothing received for a while) or `connection_failed`.")
    session_id: str | None = Field(default=None, description="The WHIP session concerned.")


class StreamState(SQLModel):
    """A room's live stream as the hub sees it now."""

    room_code: str
    publishing: bool = Field(description="A WHIP publisher session exists for the room.")
    publisher_session: str | None = None
    publisher_since: datetime | None = None
    viewers: int = Field(description="Open WHEP viewer sessions (staff and public).")
    public_viewers: int = Field(default=0, description="Of these, anonymous viewers of a public opening.")
    recording: bool = Field(description="A recording of the room is open (it survives publisher reconnects).")
    recording_id: str | None = None
    last_frame_at: datetime | None = Field(default=None, description="When the last frame (audio or video) arrived.")
    stalled: bool = Field(description="True while an outage alert stands (no frames, or the connection failed).")
    alerts: list[StreamAlert] = Field(default_factory=list, description="The latest alerts, oldest first.")
