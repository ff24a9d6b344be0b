"""Tables of check-in: attempts at terminals, check-ins, evaluation reports and their sign-offs.

Nothing here holds biometric data: frames are judged in memory and dropped, and an attempt keeps
only its outcome. An attempt's expert is kept for the lockout count; the ledger carries a keyed
reference instead of the code while the committee is sealed (D5).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, field_validator
from sqlalchemy import DateTime, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

Method = Literal["face", "manual"]
Purpose = Literal["checkin", "signoff"]


class CheckinAttempt(SQLModel, table=True):
    """One verification attempt at a terminal (success or failure), for lockouts and single-use challenges."""

    __tablename__ = "checkin_attempts"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    terminal_user_id: int = Field(foreign_key="users.id", index=True)
    room_id: int | None = Field(default=None, foreign_key="rooms.id")
    expert_id: int | None = Field(default=None, foreign_key="experts.id", index=True)
    purpose: str = Field(sa_type=String(16))
    outcome: str = Field(max_length=48)
    # Counted towards lockouts (a verified expert without a seat is not a failed identity).
    failed: bool = False
    # The challenge's nonce: unique, so a challenge answers one attempt only.
    nonce: str | None = Field(default=None, max_length=48, unique=True)


class Checkin(SQLModel, table=True):
    """An expert checked in for a project, at a room, by face or by a supervisor."""

    __tablename__ = "checkins"
    __table_args__ = (UniqueConstraint("project_id", "expert_id", name="uq_checkins_project_expert"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", index=True)
    expert_id: int = Field(foreign_key="experts.id", index=True)
    room_id: int = Field(foreign_key="rooms.id", index=True)
    at: datetime = Field(sa_type=DateTime(timezone=True))
    method: str = Field(sa_type=String(16))
    by: str = Field(max_length=100)
    reason: str | None = Field(default=None, max_length=500)


class EvaluationReport(SQLModel, table=True):
    """A version of a project's evaluation report: its bytes and SHA-256, which the experts sign off."""

    __tablename__ = "evaluation_reports"
    __table_args__ = (UniqueConstraint("project_id", "version", name="uq_evaluation_reports_version"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="projects.id", index=True)
    version: int = Field(ge=1)
    sha256: str = Field(max_length=64)
    size: int = Field(ge=0)
    filename: str = Field(max_length=200)
    content: bytes = Field(sa_type=LargeBinary)
    uploaded_at: datetime = Field(sa_type=DateTime(timezone=True))
    uploaded_by: str = Field(max_length=100)


class Signoff(SQLModel, table=True):
    """An expert's confirmation of one report version, after re-verifying their face."""

    __tablename__ = "signoffs"
    __table_args__ = (UniqueConstraint("report_id", "expert_id", name="uq_signoffs_report_expert"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="evaluation_reports.id", index=True)
    project_id: int = Field(foreign_key="projects.id", index=True)
    expert_id: int = Field(foreign_key="experts.id", index=True)
    at: datetime = Field(sa_type=DateTime(timezone=True))
    method: str = Field(sa_type=String(16))
    by: str = Field(max_length=100)


# --- API shapes ----------------------------------------------------------------------------------


class ChallengeCreate(SQLModel):
    id_number: str = Field(min_length=1, max_length=40)
    purpose: Purpose = "checkin"


class ChallengePublic(SQLModel):
    token: str
    direction: Literal["left", "right"]
    expires_at: AwareDatetime
    frames_min: int
    frames_max: int
    frame_interval_ms: int
    max_width: int


class CheckinPublic(SQLModel):
    outcome: Literal["checked_in"] = "checked_in"
    project_code: str
    room_code: str
    site_code: str
    expert_name: str
    checked_in_at: AwareDatetime
    method: Method
    already: bool


class ManualCheckin(SQLModel):
    room_code: str = Field(min_length=1, max_length=40)
    id_number: str | None = Field(default=None, min_length=1, max_length=40)
    expert_code: str | None = Field(default=None, min_length=1, max_length=40)
    reason: str = Field(min_length=4, max_length=500)

    @field_validator("reason", mode="before")
    @classmethod
    def _stripped(cls, value: object) -> object:
        # Blank padding must not make a reason: the length applies to what is kept.
        return value.strip() if isinstance(value, str) else value


class SignoffPublic(SQLModel):
    project_code: str
    report_sha256: str
    expert_name: str
    signed_at: AwareDatetime
    method: Method
    already: bool


class ReportPublic(SQLModel):
    project_code: str
    sha256: str
    size: int
    filename: str
    version: int
    uploaded_at: AwareDatetime
    uploaded_by: str
    signed_off: int
    seats: int
