"""User administration in the console (admins only, as /api/users): create, edit scope, change role, reset password."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from access.deps import SessionDep
from access.exceptions import InvalidUserData, LastAdminError, UserExists
from access.models import ROLES, UserCreate, UserUpdate
from access.service import Principal
from accounts import service as auth_users
from api.pages.common import explain, render
from api.pages.forms import codes, validation_field, writer

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
ADMIN = frozenset({"admin"})
Text = Annotated[str, Form(max_length=2000)]


def _page(request: Request, session: Session, who: Principal, *, error: str | None = None,
          values: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    users = [auth_users.public(session, u) for u in auth_users.list_users(session)]
    return render(request, "users.html", {"users": users, "roles": ROLES, "error": error, "v": values or {},
                                          "conflict": status_code == 409}, who=who, status_code=status_code)


@router.post("/users")
def create_user(request: Request, session: SessionDep, csrf_token: Annotated[str | None, Form()] = None,
                username: Text = "", display_name: Text = "", role: Text = "", email: Text = "",
                all_sites: Text = "", site_codes: Text = "", expert_code: Text = "", room_code: Text = "",
                password: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Create a user; bad input re-shows the list with a message naming the field (never the password)."""
    who = writer(request, session, csrf_token, ADMIN)
    if isinstance(who, Response):
        return who
    values = {"username": username.strip(), "display_name": display_name.strip(), "role": role,
              "email": email.strip() or None, "all_sites": bool(all_sites), "site_codes": codes(site_codes),
              "expert_code": expert_code.strip() or None, "room_code": room_code.strip() or None}
    try:
        auth_users.create_user(session, data=UserCreate.model_validate({**values, "password": password}),
                                 actor=who.actor)
    except ValidationError as exc:
        session.rollback()
        return _page(request, session, who, error=validation_field(exc), values=values, status_code=422)
    except InvalidUserData as exc:
        session.rollback()
        return _page(request, session, who, error=explain(request, exc, exc.field), values=values, status_code=422)
    except UserExists as exc:
        session.rollback()
        return _page(request, session, who, error=explain(request, exc, "username"), values=values, status_code=409)
    session.commit()
    logger.info("user %s created from the console", values["username"])
    return RedirectResponse("/users", status_code=303)


def _update(request: Request, session: Session, who: Principal, username: str, data: dict[str, Any]) -> Response:
    try:
        user = auth_users.update_user(session, username=username, data=UserUpdate.model_validate(data),
                                        actor=who.actor)
    except ValidationError as exc:
        session.rollback()
        return _page(request, session, who, error=validation_field(exc), status_code=422)
    except InvalidUserData as exc:
        session.rollback()
        return _page(request, session, who, error=explain(request, exc, exc.field), status_code=422)
    except LastAdminError as exc:
        session.rollback()
        return _page(request, session, who, error=explain(request, exc, exc.field), status_code=409)
    if user is None:
        return _page(request, session, who, error=f"username: no user {username!r}", status_code=404)
    session.commit()
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{username}/edit")
def update_user(username: str, request: Request, session: SessionDep,
                csrf_token: Annotated[str | None, Form()] = None, active: Text = "", all_sites: Text = "",
                site_codes: Text = "", display_name: Text = "") -> Response:
    """Change a user's scope (all sites or a list of site codes), display name and whether it is active."""
    who = writer(request, session, csrf_token, ADMIN)
    if isinstance(who, Response):
        return who
    return _update(request, session, who, username, {
        "active": bool(active), "all_sites": bool(all_sites), "site_codes": codes(site_codes),
        "display_name": display_name.strip()})


@router.post("/users/{username}/role")
def change_role(username: str, request: Request, session: SessionDep,
                csrf_token: Annotated[str | None, Form()] = None, role: Text = "", expert_code: Text = "",
                room_code: Text = "") -> Response:
    """Change a user's role (ends their sessions); expert and terminal accounts name their expert or room."""
    who = writer(request, session, csrf_token, ADMIN)
    if isinstance(who, Response):
        return who
    data: dict[str, Any] = {"role": role or None}
    for name, value in (("expert_code", expert_code.strip()), ("room_code", room_code.strip())):
        if value:  # an empty box means "not given", not the code ""
            data[name] = value
    return _update(request, session, who, username, data)


@router.post("/users/{username}/password")
def reset_password(username: str, request: Request, session: SessionDep,
                   csrf_token: Annotated[str | None, Form()] = None,
                   password: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Set a new password (ends the user's sessions and tokens, unlocks the account)."""
    who = writer(request, session, csrf_token, ADMIN)
    if isinstance(who, Response):
        return who
    return _update(request, session, who, username, {"password": password})
