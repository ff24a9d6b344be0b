"""The one JSON error shape of every API answer, naming the field at fault."""

from __future__ import annotations

from fastapi.responses import JSONResponse


def error(status: int, field: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON error in FastAPI's validation shape: `{"detail": [{"loc": [field], "msg": …, "type": …}]}`."""
    kind = ERROR_TYPES.get(status, "error")
    return JSONResponse(status_code=status, headers=headers,
                        content={"detail": [{"loc": [field], "msg": message, "type": kind}]})


ERROR_TYPES = {400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid", 429: "too_many"}
