"""FastAPI dependencies: who is calling (session cookie or bearer token), role and scope checks.

Pages authenticate with the signed session cookie; API clients with `Authorization: Bearer …`.
A cookie-authenticated unsafe API request must carry the session's CSRF token in `X-CSRF-Token`
(forms carry it as the `csrf_token` field, checked by the pages), so another site cannot ride on
the browser's cookie. Every refusal is written to the audit ledger.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlmodel import Session

from access import service
from access.exceptions import Forbidden, NotAuthenticated
from access.service import Principal
from config.db import get_engine


def get_session() -> Iterator[Session]:
    """A database session per request."""
    with Session(get_engine()) as session:
        yield session


# Database ids in paths: bounded so an out-of-range number is a 422, not a database overflow.
IdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SessionDep = Annotated[Session, Depends(get_session)]


def _where(request: Request) -> str:
    return f"{request.method} {request.url.path}"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, given: str | None) -> bool:
    """True when `given` equals the session's CSRF token (constant-time)."""
    token = request.session.get("csrf")
    return isinstance(token, str) and isinstance(given, str) and hmac.compare_digest(token, given)


def optional_principal(request: Request, session: SessionDep) -> Principal | None:
    """The caller, or None when not logged in (pages redirect; API answers 401)."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    auth = request.headers.get("authorization", "")
    user = None
    if auth[:7].lower() == "bearer ":
        claims = service.read_token(auth[7:].strip())
        user = service.user_from_claims(session, claims) if claims is not None else None
    elif "session" in request.scope:
        user = service.user_from_claims(session, request.session.get("user"))
        if user is not None and request.method not in SAFE_METHODS and request.url.path.startswith("/api/") \
                and not csrf_ok(request, request.headers.get("x-csrf-token")):
            service.log_denied(session, who=f"user:{user.username}", what=_where(request), why="csrf")
            raise Forbidden("missing or wrong X-CSRF-Token header")
    if user is None:
        return None
    found = service.principal(session, user)
    request.state.principal = found
    return found


def current_principal(
    request: Request, session: SessionDep, who: Annotated[Principal | None, Depends(optional_principal)]
) -> Principal:
    """The caller; 401 (ledgered) when there is no valid session or token."""
    if who is None:
        service.log_denied(session, who="anonymous", what=_where(request), why="not authenticated")
        raise NotAuthenticated("log in first: no valid session or bearer token")
    return who


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*roles: str) -> Callable[..., Principal]:
    """A dependency admitting only the given roles (403, ledgered, for the others)."""

    def check(request: Request, session: SessionDep, who: CurrentPrincipal) -> Principal:
        if who.role not in roles:
            service.log_denied(session, who=who.actor, what=_where(request), why=f"role {who.role}")
            raise Forbidden(f"the {who.role} role may not do this")
        return who

    return check


def deny_out_of_scope(session: Session, request: Request, who: Principal, what: str) -> None:
    """Ledger an access outside the caller's site scope (the caller then answers 404)."""
    service.log_denied(session, who=who.actor, what=f"{_where(request)} {what}"[:128], why="out of scope")


Coordinator = Annotated[Principal, Depends(require("admin", "coordinator"))]
Staff = Annotated[Principal, Depends(require("admin", "coordinator", "supervisor"))]
Admin = Annotated[Principal, Depends(require("admin"))]
