"""Mapping of every package's domain errors to JSON answers naming the field (never a 500)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from api.auth.exceptions import Forbidden, InvalidUserData, LoginFailed, NotAuthenticated, UserExists
from experts import exceptions as expert_errors
from scheduler.exceptions import InstanceError, ReplacementError
from scheduler.export import UnknownProjectError
from scheduler.service import DrawNotFound, StillSealed
from venues import exceptions as venue_errors


def error(status: int, field: str, message: str) -> JSONResponse:
    """A JSON error in FastAPI's validation shape: `{"detail": [{"loc": [field], "msg": …}]}`."""
    return JSONResponse(status_code=status, content={"detail": [{"loc": [field], "msg": message}]})


def _wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def install(app: FastAPI) -> None:
    """Register the error handlers on `app`."""

    def on(exc_type: type[Exception], status: int, field: Callable[[Exception], str]) -> None:
        async def handler(_: Request, exc: Exception) -> Response:
            return error(status, field(exc), str(exc))

        app.add_exception_handler(exc_type, handler)

    async def not_authenticated(request: Request, exc: Exception) -> Response:
        if _wants_page(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return JSONResponse(status_code=401, content={"detail": [{"loc": ["authorization"], "msg": str(exc)}]},
                            headers={"WWW-Authenticate": "Bearer"})

    app.add_exception_handler(NotAuthenticated, not_authenticated)
    on(LoginFailed, 401, lambda e: "password")
    on(Forbidden, 403, lambda e: "authorization")
    on(UserExists, 409, lambda e: "username")
    on(InvalidUserData, 422, lambda e: getattr(e, "field", "body"))
    on(InstanceError, 422, lambda e: getattr(e, "path", "body"))
    on(ReplacementError, 409, lambda e: "expert_code")
    on(DrawNotFound, 404, lambda e: "draw_id")
    on(StillSealed, 403, lambda e: "draw_id")
    on(UnknownProjectError, 404, lambda e: "project_codes")
    for module in (venue_errors, expert_errors):
        on(module.DuplicateCodeError, 409, lambda e: "code")
        on(module.NotFoundError, 404, lambda e: f"{getattr(e, 'entity', '')}_code".lstrip("_"))
    on(venue_errors.InvalidVenueDataError, 422, lambda e: "body")
    on(expert_errors.DuplicateIdNumberError, 409, lambda e: "id_number")
    on(expert_errors.InvalidExpertDataError, 422, lambda e: "body")
