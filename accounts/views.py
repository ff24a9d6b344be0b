"""HTTP routes of access: bearer tokens, who am I, and user administration (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException
from pydantic import BaseModel

from access import service
from access.deps import Admin, CurrentPrincipal, SessionDep
from access.exceptions import LastAdminError
from access.models import UserCreate, UserPublic, UserUpdate
from accounts import service as users
from config import clock
from config.settings import get_settings

router = APIRouter(prefix="/api", tags=["access"])


class Token(BaseModel):
    """A bearer token for the API."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int


class Me(BaseModel):
    """The caller's identity and scope."""

    username: str
    role: str
    all_sites: bool
    site_ids: list[int]


@router.post("/auth/token", response_model=Token)
def login_for_token(
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=200)],
    session: SessionDep,
) -> Token:
    """Exchange a user name and password for a bearer token (OAuth2 password flow, form-encoded)."""
    user = service.authenticate(session, username=username, password=password, now=clock.now(), via="api")
    return Token(access_token=service.issue_token(user), expires_in=get_settings().token_ttl_minutes * 60)


@router.get("/auth/me", response_model=Me)
def me(who: CurrentPrincipal) -> Me:
    """Who the token or session belongs to."""
    return Me(username=who.username, role=who.role, all_sites=who.all_sites, site_ids=sorted(who.site_ids))


@router.get("/users", response_model=list[UserPublic])
def list_users(session: SessionDep, _: Admin) -> list[UserPublic]:
    """Every user (admin only)."""
    return [users.public(session, u) for u in users.list_users(session)]


@router.post("/users", response_model=UserPublic, status_code=201)
def create_user(body: UserCreate, session: SessionDep, who: Admin) -> UserPublic:
    """Create a user with a role and site scope (admin only)."""
    user = users.create_user(session, data=body, actor=who.actor)
    session.commit()
    return users.public(session, user)


@router.patch("/users/{username}", response_model=UserPublic)
def update_user(username: str, body: UserUpdate, session: SessionDep, who: Admin) -> UserPublic:
    """Change a user's details, password, scope, activity or role (admin only).

    A new role ends the user's sessions and tokens; `expert` needs `expert_code` and `terminal` needs
    `room_code` in the same request, and leaving those roles clears the binding. The last active admin
    cannot be demoted or deactivated (409).
    """
    try:
        user = users.update_user(session, username=username, data=body, actor=who.actor)
    except LastAdminError as exc:
        session.rollback()
        raise HTTPException(status_code=409, detail=[{"loc": [exc.field], "msg": str(exc)}]) from exc
    if user is None:
        raise HTTPException(status_code=404, detail="user not found")
    session.commit()
    return users.public(session, user)
