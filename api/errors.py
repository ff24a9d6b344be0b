"""Mapping of every package's domain errors to JSON answers naming the field (never a 500)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from access.errors import ERROR_TYPES, error
from access.exceptions import Forbidden, InvalidUserData, LoginFailed, NotAuthenticated, UserExists
from checkin.exceptions import CheckinRefused
from evaluation import projects as project_errors
from evaluation.export import UnknownProjectError
from evaluation.replan import ReplanInputError
from evaluation.service import DrawNotFound, DrawStateError, StillSealed
from experts import exceptions as expert_errors
from experts import face_exceptions
from experts.identity import FaceError
from openings.exceptions import OpeningError
from scheduler.exceptions import InstanceError, ReplacementError
from venues import exceptions as venue_errors


def _detail_list(detail: Any, status: int) -> list[dict[str, Any]]:
    """HTTPException details as the one error shape (a list of {loc, msg, type})."""
    if isinstance(detail, list) and all(isinstance(d, dict) and "loc" in d for d in detail):
        return [{"type": ERROR_TYPES.get(status, "error"), **d} for d in detail]
    return [{"loc": ["path"], "msg": str(detail), "type": ERROR_TYPES.get(status, "error")}]


def _finite(value: Any) -> Any:
    """`value` with non-finite floats as text: Python's JSON parser accepts Infinity/NaN, JSON cannot carry them."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _wants_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def install(app: FastAPI) -> None:
    """Register the error handlers on `app`."""

    def on(exc_type: type[Exception], status: int, field: Callable[[Exception], str]) -> None:
        async def handler(_: Request, exc: Exception) -> Response:
            return error(status, field(exc), str(exc))

        app.add_exception_handler(exc_type, handler)

    async def validation_error(_: Request, exc: Exception) -> Response:
        # FastAPI's own handler echoes the input back and fails to encode an Infinity it was sent (a 500).
        assert isinstance(exc, RequestValidationError)
        return JSONResponse(status_code=422, content={"detail": _finite(jsonable_encoder(exc.errors()))})

    app.add_exception_handler(RequestValidationError, validation_error)

    async def not_authenticated(request: Request, exc: Exception) -> Response:
        if _wants_page(request):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return error(401, "authorization", str(exc), headers={"WWW-Authenticate": "Bearer"})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return JSONResponse(status_code=exc.status_code, headers=exc.headers,
                            content={"detail": _detail_list(exc.detail, exc.status_code)})

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(NotAuthenticated, not_authenticated)
    on(LoginFailed, 401, lambda e: "password")
    on(Forbidden, 403, lambda e: "authorization")
    on(UserExists, 409, lambda e: "username")
    on(InvalidUserData, 422, lambda e: getattr(e, "field", "body"))
    on(InstanceError, 422, lambda e: getattr(e, "path", "body"))
    on(ReplacementError, 409, lambda e: "expert_code")
    on(DrawNotFound, 404, lambda e: "draw_id")
    on(StillSealed, 403, lambda e: "draw_id")
    on(DrawStateError, 409, lambda e: getattr(e, "field", "draw_id"))
    on(UnknownProjectError, 404, lambda e: "project_codes")
    on(project_errors.ProjectDataError, 422, lambda e: getattr(e, "field", "body"))
    on(project_errors.ProjectStateError, 409, lambda e: getattr(e, "field", "status"))
    on(project_errors.ProjectExists, 409, lambda e: "code")
    on(project_errors.ProjectNotFound, 404, lambda e: "code")
    on(ReplanInputError, 422, lambda e: getattr(e, "field", "body"))
    for module in (venue_errors, expert_errors):
        on(module.DuplicateCodeError, 409, lambda e: "code")
        on(module.NotFoundError, 404, lambda e: f"{getattr(e, 'entity', '')}_code".lstrip("_"))
    on(venue_errors.InvalidVenueDataError, 422, lambda e: "body")
    on(expert_errors.DuplicateIdNumberError, 409, lambda e: "id_number")
    on(expert_errors.InvalidExpertDataError, 422, lambda e: "body")
    on(expert_errors.ImportConflictError, 409, lambda e: "file")
    on(FaceError, 422, lambda e: "files")
    on(face_exceptions.ConsentRequired, 422, lambda e: "consent")
    on(face_exceptions.NoPhotos, 422, lambda e: "files")
    on(face_exceptions.NotEnrolled, 404, lambda e: "code")

    async def checkin_refused(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, CheckinRefused)
        loc = [exc.field] if exc.field in ("authorization", "code") else ["body", exc.field]
        detail = [{"loc": loc, "msg": str(exc), "type": exc.kind}]
        return JSONResponse(status_code=exc.status, content={"detail": detail})

    app.add_exception_handler(CheckinRefused, checkin_refused)

    async def opening_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, OpeningError)
        return error(exc.status, exc.field, str(exc))

    app.add_exception_handler(OpeningError, opening_error)
