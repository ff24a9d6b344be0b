"""Errors of public openings, each naming the field at fault and the HTTP status that fits it."""

from __future__ import annotations

from config.messages import Explained


class OpeningError(Explained, Exception):
    """Base of the openings errors: `field` is what to fix, `status` the HTTP answer."""

    status = 422

    def __init__(self, message: str, *, field: str, key: str | None = None, **values: object) -> None:
        super().__init__(message)
        self.field = field
        if key is not None:
            self.explain(key, **values)


class OpeningRefused(OpeningError):
    """The room cannot be public, or cannot change purpose, as things stand (409)."""

    status = 409


class OpeningNotFound(OpeningError):
    """No such opening, or its link was revoked: the same answer, so links cannot be probed (404)."""

    status = 404


class OpeningNotLive(OpeningError):
    """The link is valid but the opening is not on now (before its lead time, or over) (403)."""

    status = 403
