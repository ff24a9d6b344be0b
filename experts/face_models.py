"""The face template of an expert: the sealed encoding of the enrolled reference photo(s), never the photos.

One row per expert. `sealed` is AES-GCM (config.sealing) of the float64 encoding bytes, bound by its
AAD to the expert and the row, so a blob copied to another expert fails to unseal.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime
from sqlalchemy import DateTime, LargeBinary
from sqlmodel import Field, SQLModel


class FaceTemplateBase(SQLModel):
    photos: int = Field(ge=1, description="How many reference photos the template was computed from.")
    consent_at: datetime = Field(sa_type=DateTime(timezone=True))
    enrolled_at: datetime = Field(sa_type=DateTime(timezone=True))
    enrolled_by: str = Field(max_length=100)


class FaceTemplate(FaceTemplateBase, table=True):
    __tablename__ = "face_templates"

    id: int | None = Field(default=None, primary_key=True)
    expert_id: int = Field(foreign_key="experts.id", unique=True, index=True)
    # Biometric data, sealed at rest (PIPL); never logged, never returned.
    sealed: bytes = Field(sa_type=LargeBinary)


class FaceTemplatePublic(SQLModel):
    """Enrolment status of an expert (no biometric data)."""

    expert_code: str
    enrolled: bool
    photos: int | None = None
    consent_at: AwareDatetime | None = None
    enrolled_at: AwareDatetime | None = None
    enrolled_by: str | None = None


class FaceVerification(SQLModel):
    """The outcome of a 1:1 verification."""

    distance: float
    match: bool
