"""Tables of the outbox and of the answers to confirm/decline links (rule D5: sealed, opaque refs).

An outbox row names a project and, sealed, the expert and address it goes to: `expert_sealed`,
`address_sealed`, `subject_sealed` and `body_sealed` are AES-GCM blobs bound to the row's random
`ref` (notify.models.notification_aad). An RSVP row is keyed by an opaque HMAC reference of
draw:project:expert (notify.links.rsvp_ref), never by an expert id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime
from sqlalchemy import CheckConstraint, Index, LargeBinary, String
from sqlmodel import Field, SQLModel

Channel = Literal["email", "sms", "webhook"]
NotificationKind = Literal["draw", "reminder", "replacement", "witness"]
NotificationStatus = Literal["pending", "sent", "failed"]
RsvpStatus = Literal["pending", "confirmed", "declined"]
CHANNELS: tuple[str, ...] = ("email", "sms", "webhook")
KINDS: tuple[str, ...] = ("draw", "reminder", "replacement", "witness")
STATUSES: tuple[str, ...] = ("pending", "sent", "failed")
RSVP_STATUSES: tuple[str, ...] = ("pending", "confirmed", "declined")


def utcnow() -> datetime:
    """The current time, aware, in UTC (column defaults only; services pass `now`)."""
    return datetime.now(UTC)


def _in(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


def notification_aad(ref: str, part: str) -> bytes:
    """AAD of one sealed field of an outbox row: binds the blob to the row and the field."""
    return f"notification:{ref}:{part}".encode()


def rsvp_aad(ref: str) -> bytes:
    """AAD of the sealed expert of an RSVP row."""
    return f"rsvp:{ref}".encode()


# --- Notification (the outbox) ------------------------------------------------------------------


class NotificationBase(SQLModel):
    channel: Channel = Field(sa_type=String(8))
    kind: NotificationKind = Field(sa_type=String(16))
    draw_id: int | None = Field(default=None, foreign_key="draws.id", index=True)
    project_id: int | None = Field(default=None, foreign_key="projects.id", index=True)


class Notification(NotificationBase, table=True):
    __tablename__ = "notifications"
    __table_args__ = (
        _in("channel", CHANNELS, "ck_notifications_channel"),
        _in("kind", KINDS, "ck_notifications_kind"),
        _in("status", STATUSES, "ck_notifications_status"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Random, so the AAD names the row before it has an id.
    ref: str = Field(max_length=32, unique=True)
    # The RSVP reference of the seat (opaque HMAC): "once per seat holder" checks use it.
    rsvp_ref: str | None = Field(default=None, max_length=64, index=True)
    status: str = Field(default="pending", sa_type=String(8))
    attempts: int = Field(default=0, ge=0)
    created_at: datetime = Field(default_factory=utcnow)
    next_attempt_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    # The error's class and SMTP code only: never an address or a message text.
    last_error: str | None = Field(default=None, max_length=200)
    expert_sealed: bytes = Field(sa_type=LargeBinary)
    address_sealed: bytes = Field(sa_type=LargeBinary)
    subject_sealed: bytes = Field(sa_type=LargeBinary)
    body_sealed: bytes = Field(sa_type=LargeBinary)


class NotificationCreate(NotificationBase):
    expert_code: str
    address: str
    subject: str
    body: str
    rsvp_ref: str | None = None


class NotificationUpdate(SQLModel):
    status: NotificationStatus | None = None
    next_attempt_at: AwareDatetime | None = None


class NotificationPublic(NotificationBase):
    id: int
    status: NotificationStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None


# --- RSVP (answers to the confirm/decline links) ---------------------------------------------


class RsvpBase(SQLModel):
    draw_id: int = Field(foreign_key="draws.id", index=True)
    project_id: int = Field(foreign_key="projects.id", index=True)


class Rsvp(RsvpBase, table=True):
    __tablename__ = "rsvps"
    __table_args__ = (_in("status", RSVP_STATUSES, "ck_rsvps_status"),)

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=64, unique=True)
    status: str = Field(default="pending", sa_type=String(12), index=True)
    created_at: datetime = Field(default_factory=utcnow)
    answered_at: datetime | None = None
    expert_sealed: bytes = Field(sa_type=LargeBinary)


class RsvpCreate(RsvpBase):
    ref: str
    expert_code: str


class RsvpUpdate(SQLModel):
    status: RsvpStatus


class RsvpPublic(RsvpBase):
    id: int
    status: RsvpStatus
    answered_at: datetime | None
