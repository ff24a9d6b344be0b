"""Helpers of the console's write forms: guards, form parsing, and validation errors as field messages."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from access.service import Principal
from api.pages.common import bad_csrf, console_user, local, local_tz, member, role_check
from config.messages import Explained

SEPARATORS = re.compile(r"[\s,;，；、]+")


class FormError(Explained, ValueError):
    """Bad form input; `field` names the offending form field (shown on the page, answered 422)."""

    def __init__(self, field: str, message: str = "", *, key: str | None = None, **values: object) -> None:
        super().__init__(message or field)
        self.field = field
        if key is not None:
            self.explain(key, **values)


T = TypeVar("T")


def writer(request: Request, session: Session, csrf: str | None, roles: frozenset[str], *,
           centre_wide: str | None = None) -> Principal | Response:
    """The user for a POST form (logged in, valid CSRF token, one of `roles`), or the page to answer instead.

    With `centre_wide`, the user must also be centre-wide; any refusal is then ledgered with that reason.
    """
    who = console_user(request, session)
    if isinstance(who, Response):
        return who
    refused = bad_csrf(request, session, who, csrf)
    if refused is not None:
        return refused
    return role_check(request, session, who, roles, centre_wide=centre_wide)


def write_target(request: Request, session: Session, csrf: str | None, roles: frozenset[str],
                 lookup: Callable[[Principal], T | Response], *, form: bool = True) -> tuple[Principal, T] | Response:
    """The user (as `writer`; a GET form page skips the CSRF check) and the object `lookup` finds in their scope.

    `lookup` answers the 404 page itself for an unknown or out-of-scope object.
    """
    who = writer(request, session, csrf, roles) if form else member(request, session, roles)
    if isinstance(who, Response):
        return who
    found = lookup(who)
    if isinstance(found, Response):
        return found
    return who, found


def codes(text: str | None) -> list[str]:
    """Codes typed in one field, split on spaces, commas, semicolons or new lines (Chinese punctuation too)."""
    return [c for c in SEPARATORS.split(text or "") if c]


def local_datetime(text: str | None, field: str) -> datetime:
    """A `datetime-local` input (or ISO 8601 text) as an aware datetime; naive input is local time."""
    try:
        value = datetime.fromisoformat((text or "").strip())
    except ValueError as exc:
        raise FormError(field, "expected a date and time, e.g. 2026-11-23T09:00", key="form.datetime") from exc
    if not 1900 <= value.year <= 9000:
        raise FormError(field, "the year must lie between 1900 and 9000", key="form.year")
    return value if value.tzinfo else value.replace(tzinfo=local_tz())


def local_input(value: datetime | None) -> str:
    """A stored datetime as the value of a `datetime-local` input (display time zone)."""
    if value is None:
        return ""
    return local(value).strftime("%Y-%m-%dT%H:%M")


def number(text: str | None, field: str, *, integer: bool = True) -> Any:
    """A number typed in a form field (FormError naming the field when it is not one)."""
    try:
        return int(text or "") if integer else float(text or "")
    except ValueError as exc:
        raise FormError(field, "expected a number", key="form.number") from exc


def validation_field(exc: ValidationError) -> str:
    """The fields a pydantic error names, with its first message (shown to the user, no input echoed)."""
    errors = exc.errors(include_input=False, include_url=False)
    fields = sorted({".".join(str(p) for p in e["loc"]) or "body" for e in errors})
    return f"{', '.join(fields)}: {errors[0]['msg']}" if errors else "body"
