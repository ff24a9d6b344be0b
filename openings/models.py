"""Tables and shapes of public openings: one row per opening (window, link token, view counts)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import model_validator
from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from config.types import IsoDatetime, PlainText, StoredDatetime
from venues.models import RoomPurpose

OpeningStatus = Literal["scheduled", "live", "ended", "revoked"]


class PublicOpeningBase(SQLModel):
    title: PlainText = Field(min_length=1, max_length=200, description="Shown to the public, e.g. the tender's name.")
    start: IsoDatetime
    end: IsoDatetime


class PublicOpening(PublicOpeningBase, table=True):
    """A public opening of a bid-opening room; `token` is the watch link's secret part."""

    __tablename__ = "public_openings"
    __table_args__ = (CheckConstraint('"end" > start', name="ck_public_openings_order"),
                      CheckConstraint("views >= 0 AND peak_viewers >= 0", name="ck_public_openings_counts"))

    id: int | None = Field(default=None, primary_key=True)
    room_id: int = Field(foreign_key="rooms.id", index=True)
    token: str = Field(max_length=64, unique=True, index=True)
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    revoked_at: datetime | None = None
    views: int = Field(default=0, description="Anonymous views opened (each WHEP session counts once).")
    peak_viewers: int = Field(default=0, description="Most anonymous viewers at once.")


class PublicOpeningCreate(PublicOpeningBase):
    @model_validator(mode="after")
    def _ordered(self) -> PublicOpeningCreate:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class PublicOpeningPublic(SQLModel):
    """An opening as staff see it (the watch link included)."""

    id: int
    room_code: str
    title: str
    start: StoredDatetime
    end: StoredDatetime
    status: OpeningStatus
    watch_path: str = Field(description="The public watch page, relative to the service's base URL.")
    created_by: str
    created_at: StoredDatetime
    revoked_at: StoredDatetime | None
    views: int
    peak_viewers: int


class OpeningFacts(SQLModel):
    """What an anonymous viewer may read of an opening: no room, site or party beyond the title."""

    title: str
    start: StoredDatetime
    end: StoredDatetime
    status: OpeningStatus
    opens_at: StoredDatetime = Field(description="When the link starts to show the room (start − lead).")


class RoomPurposeUpdate(SQLModel):
    purpose: RoomPurpose
