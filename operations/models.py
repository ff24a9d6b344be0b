"""The Operation table: a long piece of work, its progress and its final report."""

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime
from sqlalchemy import JSON, CheckConstraint, String
from sqlmodel import Field, SQLModel

OperationStatus = Literal["queued", "running", "done", "failed"]
OPERATION_STATUSES: tuple[str, ...] = ("queued", "running", "done", "failed")


class OperationBase(SQLModel):
    kind: str = Field(max_length=40)
    status: OperationStatus = Field(default="queued", sa_type=String(16))
    total: int | None = Field(default=None, ge=0)
    done: int = Field(default=0, ge=0)
    # What the work reported when it finished (public facts only: counts, row errors).
    report: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    # Why it failed, in words for the user (never a traceback).
    message: str = Field(default="", max_length=1000)
    created_by: str = Field(max_length=128, index=True)


class Operation(OperationBase, table=True):
    __tablename__ = "operations"
    __table_args__ = (CheckConstraint("status IN ('queued', 'running', 'done', 'failed')",
                                      name="ck_operations_status"),)

    id: int | None = Field(default=None, primary_key=True)
    # The service sets it from config.clock; the default only serves direct inserts.
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    # The service process running it (host:pid:random, new at every process start) and when that
    # process last said it is alive: a heartbeat older than operation_stale_seconds means it stopped.
    worker: str = Field(default="", max_length=100)
    heartbeat_at: datetime | None = None


class OperationPublic(OperationBase):
    id: int
    created_at: AwareDatetime
    finished_at: AwareDatetime | None
