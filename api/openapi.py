"""The OpenAPI document: every API operation declares the error answers it can give."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

# The one error shape of the service (see api.errors.error): a list of {loc, msg, type}.
ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"type": "array", "items": {
        "type": "object", "required": ["loc", "msg", "type"],
        "properties": {"loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                       "msg": {"type": "string"}, "type": {"type": "string"}}}}},
}
ERRORS = {"400": "Bad request", "401": "Not authenticated", "403": "Forbidden by role, or sealed",
          "404": "Not found or outside the caller's site scope", "409": "Conflicts with the stored state",
          "422": "Invalid input; `loc` names the field"}


def install(app: FastAPI) -> None:
    """Make `app.openapi()` add the common error answers to every /api operation."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, routes=app.routes, description=app.description)
        doc.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for path, ops in doc.get("paths", {}).items():
            if not path.startswith("/api/"):
                continue
            for op in ops.values():
                responses = op.setdefault("responses", {})
                for code, text in ERRORS.items():
                    if code == "422" or code not in responses:
                        responses[code] = {"description": text, "content": ref}
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]
