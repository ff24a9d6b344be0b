"""Tables of access control: users with one role each, and the sites a user's scope covers."""

from datetime import datetime
from typing import Literal

from sqlalchemy import CheckConstraint, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from config.clock import utcnow

Role = Literal["admin", "coordinator", "supervisor", "expert", "terminal"]
ROLES: tuple[str, ...] = ("admin", "coordinator", "supervisor", "expert", "terminal")
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-@]{1,63}$"


class UserBase(SQLModel):
    username: str = Field(max_length=64, unique=True, index=True, schema_extra={"pattern": USERNAME_PATTERN})
    display_name: str = Field(default="", max_length=100)
    role: Role = Field(sa_type=String(16))
    email: str | None = Field(default=None, max_length=254)
    # A centre-wide user (the main centre's staff) sees every site; others only their UserSite rows.
    all_sites: bool = False
    active: bool = True


class User(UserBase, table=True):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'coordinator', 'supervisor', 'expert', 'terminal')", name="ck_users_role"),
    )

    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=200)
    # The expert this account belongs to (role expert) and the room a terminal stands in.
    expert_id: int | None = Field(default=None, foreign_key="experts.id", index=True)
    room_id: int | None = Field(default=None, foreign_key="rooms.id", index=True)
    # Bumped on password, role or binding change or deactivation: every token and session issued before dies.
    token_version: int = 0
    failed_logins: int = 0
    locked_until: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class UserSite(SQLModel, table=True):
    __tablename__ = "user_sites"
    __table_args__ = (UniqueConstraint("user_id", "site_id", name="uq_user_sites"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    site_id: int = Field(foreign_key="sites.id", index=True, ondelete="CASCADE")


class UserCreate(UserBase):
    password: str = Field(min_length=10, max_length=200)
    site_codes: list[str] = Field(default_factory=list, max_length=500)
    expert_code: str | None = None
    room_code: str | None = None


class UserUpdate(SQLModel):
    # A new role ends the user's sessions; expert and terminal need their binding in the same request.
    role: Role | None = None
    expert_code: str | None = Field(default=None, max_length=64)
    room_code: str | None = Field(default=None, max_length=64)
    display_name: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=254)
    active: bool | None = None
    all_sites: bool | None = None
    password: str | None = Field(default=None, min_length=10, max_length=200)
    site_codes: list[str] | None = Field(default=None, max_length=500)


class UserPublic(UserBase):
    id: int
    site_codes: list[str] = Field(default_factory=list)
    expert_id: int | None = None
    room_id: int | None = None
