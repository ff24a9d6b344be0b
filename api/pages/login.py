"""Log in and out of the console with the session cookie."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from access import service as auth_service
from access.deps import SessionDep, csrf_token, optional_principal
from access.exceptions import LoginFailed
from api.pages.common import bad_csrf, render, safe_next
from config import clock

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


def _landing(role: str, target: str | None) -> str:
    """Where a login goes on: a terminal to its kiosk, an expert to their seats (all they may use), others on."""
    chosen = safe_next(target)
    if role == "terminal" and chosen != "/terminal" and not chosen.startswith("/terminal?"):
        return "/terminal"
    if role == "expert" and chosen != "/me" and not chosen.startswith("/me?"):
        return "/me"
    return chosen


@router.get("/login")
def login_form(request: Request, session: SessionDep, next: str = "/") -> Response:  # noqa: A002
    """The login form (a logged-in user goes straight on)."""
    who = optional_principal(request, session)
    if who is not None:
        return RedirectResponse(_landing(who.role, next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "username": "", "error": None})


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token_field: Annotated[str | None, Form(alias="csrf_token")] = None,
    next: Annotated[str, Form(max_length=500)] = "/",  # noqa: A002
) -> Response:
    """Check the password; on success bind the user to the session and go on."""
    refused = bad_csrf(request, session, None, csrf_token_field)
    if refused is not None:
        return refused
    try:
        user = auth_service.authenticate(session, username=username, password=password, now=clock.now(),
                                         via="web")
    except LoginFailed:
        # One message for every failure: a lockout must not confirm that the name exists.
        return render(request, "login.html", {"next": safe_next(next), "username": username, "error": "login.failed"},
                      status_code=401)
    # A fresh session on login: nothing from before the login (a planted CSRF token) carries over.
    request.session.clear()
    request.session["user"] = {"u": user.id, "v": user.token_version}
    csrf_token(request)
    logger.info("console login of user id %s", user.id)
    return RedirectResponse(_landing(user.role, next), status_code=303)


@router.post("/logout")
def logout(
    request: Request, session: SessionDep, csrf_token_field: Annotated[str | None, Form(alias="csrf_token")] = None
) -> Response:
    """End the session."""
    who = optional_principal(request, session)
    refused = bad_csrf(request, session, who, csrf_token_field)
    if refused is not None:
        return refused
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
