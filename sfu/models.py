"""The SFU back end's shared state: every Janus session a service process opened, and the viewers' mountpoints.

Rows, not memory, so that every service process knows every publisher and viewer: any of them
answers a DELETE, keeps the sessions alive, serves a room's state, and cleans up after a process
that died (its sessions are kept alive by the others, its publishers go on publishing).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import BigInteger, CheckConstraint, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

SfuRole = Literal["publisher", "viewer"]


class SfuPeer(SQLModel, table=True):
    """One WHIP or WHEP session served through the SFU (its id is the resource URL's last part)."""

    __tablename__ = "sfu_peers"
    __table_args__ = (CheckConstraint("role IN ('publisher', 'viewer')", name="ck_sfu_peers_role"),)

    id: str = Field(primary_key=True, max_length=64)
    room_code: str = Field(max_length=64, index=True)
    role: str = Field(max_length=16)
    actor: str = Field(max_length=128)
    janus_session: int = Field(sa_column=Column(BigInteger, nullable=False))
    janus_handle: int = Field(sa_column=Column(BigInteger, nullable=False))
    feed: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))  # a publisher's Janus id
    mount: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))  # a viewer's mountpoint
    streams: str = Field(default="", max_length=512, description="A publisher's streams: mid:kind:codec;...")
    layer: str = Field(default="full", max_length=16)
    opening: str | None = Field(default=None, max_length=64)  # an anonymous viewer's watch-link token
    since: datetime = Field(default_factory=lambda: datetime.now(UTC))
    stalled_since: datetime | None = Field(default=None, description="A publisher's camera stopped arriving then.")


class SfuMount(SQLModel, table=True):
    """A Streaming mountpoint fed by a publisher's RTP forwarder, for the viewers of one payload-type set."""

    __tablename__ = "sfu_mounts"
    __table_args__ = (UniqueConstraint("room_code", "feed", "shape", name="uq_sfu_mounts_shape"),)

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))  # Janus's mountpoint id
    room_code: str = Field(max_length=64, index=True)
    feed: int = Field(sa_column=Column(BigInteger, nullable=False))
    shape: str = Field(max_length=256, description="Layer and the viewer's mids and payload types.")
    forwarders: str = Field(default="", max_length=256, description="The RTP forwarders' stream ids, comma-separated.")
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class SfuRecorder(SQLModel, table=True):
    """Which process records a room through the SFU, until when (a lease renewed while it lives)."""

    __tablename__ = "sfu_recorders"

    room_code: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=64, description="The recording process's random token.")
    recording_id: str = Field(max_length=64)
    until: datetime = Field(description="The lease ends then unless renewed; another process may take over.")
