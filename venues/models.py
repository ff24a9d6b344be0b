"""Tables of the venues domain: trading-centre sites, their evaluation rooms and room bookings.

Every table has an integer surrogate key and, where the instance format names it, a unique
external `code` (the instance-format id, e.g. site "JN", room "JN-R1"). Datetime columns are
timezone-aware: SQLModel's UTCDateTime stores them in UTC (naive UTC text on SQLite,
`timestamptz` on PostgreSQL) and returns them as aware UTC datetimes on both.
"""

from datetime import UTC, datetime
from datetime import time as Time
from typing import Literal

from pydantic import model_validator
from sqlalchemy import CheckConstraint, String
from sqlmodel import Field, SQLModel

from config.types import CODE_PATTERN, IsoDatetime, StoredDatetime

SiteKind = Literal["main_centre", "sub_centre", "centre", "partner"]
SITE_KINDS: tuple[str, ...] = ("main_centre", "sub_centre", "centre", "partner")
# An evaluation room seats committees (the draw's rooms); a bid-opening room (开标室) never does, and only
# it may be watched by the public during an opening (package openings).
RoomPurpose = Literal["evaluation", "opening"]
ROOM_PURPOSES: tuple[str, ...] = ("evaluation", "opening")
REGION_PATTERN = r"^\d{6}$"


def _in(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


# --- Site -----------------------------------------------------------------------------------


class SiteBase(SQLModel):
    code: str = Field(max_length=32, unique=True, index=True, schema_extra={"pattern": CODE_PATTERN})
    name: str = Field(default="", max_length=200)
    region: str = Field(max_length=6, schema_extra={"pattern": REGION_PATTERN})
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    active: bool = True
    kind: SiteKind = Field(default="centre", sa_type=String(16))


class Site(SiteBase, table=True):
    __tablename__ = "sites"
    __table_args__ = (_in("kind", SITE_KINDS, "ck_sites_kind"),)

    id: int | None = Field(default=None, primary_key=True)


class SiteCreate(SiteBase):
    pass


class SiteUpdate(SQLModel):
    name: str | None = Field(default=None, max_length=200)
    region: str | None = Field(default=None, schema_extra={"pattern": REGION_PATTERN})
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    active: bool | None = None
    kind: SiteKind | None = None


class SitePublic(SiteBase):
    id: int


# --- Room -----------------------------------------------------------------------------------


def _hours_ordered(opens_at: Time | None, closes_at: Time | None) -> None:
    """Opening hours are both set (opening before closing, same local day) or both None."""
    if (opens_at is None) != (closes_at is None):
        raise ValueError("opens_at and closes_at must be given together (both null = always open)")
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise ValueError("closes_at must be after opens_at (local time of the same day)")


class RoomBase(SQLModel):
    code: str = Field(max_length=40, unique=True, index=True, schema_extra={"pattern": CODE_PATTERN})
    seats: int = Field(ge=0)
    # Daily opening hours, local time of day at settings.display_utc_offset_hours; None = always open.
    opens_at: Time | None = None
    closes_at: Time | None = None
    # Changed only through openings.service.set_room_purpose, which checks what the room holds.
    purpose: RoomPurpose = Field(default="evaluation", sa_type=String(16),
                                 sa_column_kwargs={"server_default": "evaluation"})


class Room(RoomBase, table=True):
    __tablename__ = "rooms"
    __table_args__ = (CheckConstraint("seats >= 0", name="ck_rooms_seats"),
                      _in("purpose", ROOM_PURPOSES, "ck_rooms_purpose"))

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="sites.id", index=True)


class RoomCreate(RoomBase):
    @model_validator(mode="after")
    def _hours(self) -> "RoomCreate":
        _hours_ordered(self.opens_at, self.closes_at)
        return self


class RoomUpdate(SQLModel):
    seats: int | None = Field(default=None, ge=0)
    # Give both to change the hours, both null to make the room always open.
    opens_at: Time | None = None
    closes_at: Time | None = None

    @model_validator(mode="after")
    def _hours(self) -> "RoomUpdate":
        if {"opens_at", "closes_at"} & self.model_fields_set:
            _hours_ordered(self.opens_at, self.closes_at)
        return self


class RoomPublic(RoomBase):
    id: int
    site_id: int


# --- RoomBooking (seats already taken, rule S4) ----------------------------------------------


class RoomBookingBase(SQLModel):
    seats: int = Field(ge=0)
    start: IsoDatetime
    end: IsoDatetime
    note: str = Field(default="", max_length=500)


class RoomBooking(RoomBookingBase, table=True):
    __tablename__ = "room_bookings"

    id: int | None = Field(default=None, primary_key=True)
    room_id: int = Field(foreign_key="rooms.id", index=True, ondelete="CASCADE")


class RoomBookingCreate(RoomBookingBase):
    @model_validator(mode="after")
    def _ordered(self) -> "RoomBookingCreate":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class RoomBookingPublic(RoomBookingBase):
    # Answers read rows back: a row stored before the input bounds still reads rather than failing.
    start: StoredDatetime
    end: StoredDatetime
    id: int
    room_id: int


# --- Closure (a site or a room closed for a period, e.g. an epidemic closure) -----------------


class ClosureBase(SQLModel):
    start: IsoDatetime
    end: IsoDatetime
    reason: str = Field(default="", max_length=500)


class Closure(ClosureBase, table=True):
    """A closed site (room_id None: all its rooms) or room; the draw sees it as fully booked (S4)."""

    __tablename__ = "closures"
    __table_args__ = (CheckConstraint('"end" > start', name="ck_closures_order"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="sites.id", index=True, ondelete="CASCADE")
    room_id: int | None = Field(default=None, foreign_key="rooms.id", index=True, ondelete="CASCADE")
    created_by: str = Field(default="system", max_length=128)
    # The service sets it from config.clock; the default only serves direct inserts.
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class ClosureCreate(ClosureBase):
    site_code: str = Field(min_length=1, max_length=32)
    # None closes the whole site.
    room_code: str | None = Field(default=None, min_length=1, max_length=40)

    @model_validator(mode="after")
    def _ordered(self) -> "ClosureCreate":
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class ClosurePublic(ClosureBase):
    # Answers read rows back: a row stored before the input bounds still reads rather than failing.
    start: StoredDatetime
    end: StoredDatetime
    id: int
    site_code: str
    room_code: str | None
    created_by: str
    created_at: StoredDatetime
