"""A guard on every request: text with NUL characters is refused with a 422 naming the field.

PostgreSQL cannot store U+0000 in text, and no field of the service has a use for it; refusing it at
the door keeps both databases behaving alike and turns what would be a database error into a clear
answer. JSON and form bodies, the query string and the path are checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from fastapi import HTTPException, Request

NUL = "\x00"
MESSAGE = "text must not contain NUL (U+0000) characters"


def _paths(value: Any, where: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, str):
        if NUL in value:
            yield where
    elif isinstance(value, dict):
        for key, item in value.items():
            if NUL in str(key):
                yield (*where, str(key))
            yield from _paths(item, (*where, str(key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*where, i))


def _refuse(loc: tuple[str | int, ...]) -> HTTPException:
    return HTTPException(status_code=422, detail=[{"loc": list(loc), "msg": MESSAGE, "type": "invalid"}])


async def refuse_nul(request: Request) -> None:
    """Refuse a request carrying NUL in its path, query, JSON or form body (422 naming the field)."""
    if NUL in unquote(request.url.path):
        raise _refuse(("path",))
    for key, value in request.query_params.multi_items():
        if NUL in key or NUL in value:
            raise _refuse(("query", key.replace(NUL, "")))
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        raw = await request.body()
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            return  # FastAPI answers malformed JSON itself
        for loc in _paths(doc, ("body",)):
            raise _refuse(loc)
    elif kind == "application/x-www-form-urlencoded":
        # FastAPI may already have parsed the form (the stream is then consumed); form() is cached.
        form = await request.form()
        for name, item in form.multi_items():
            if NUL in name or (isinstance(item, str) and NUL in item):
                raise _refuse(("body", name.replace(NUL, "")))
