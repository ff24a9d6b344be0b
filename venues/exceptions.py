"""Errors of the venues domain that a caller can act on (mapped to HTTP by the API layer)."""

from __future__ import annotations

from config.messages import Explained


class VenueError(Explained, Exception):
    """Base class of every venues error."""


class DuplicateCodeError(VenueError):
    """A site or room with this external code already exists."""

    def __init__(self, entity: str, code: str) -> None:
        super().__init__(f"a {entity} with code {code!r} already exists")
        if entity == "site":
            self.explain("venues.duplicate.site", code=code)
        else:
            self.explain("venues.duplicate.room", code=code)
        self.entity = entity
        self.code = code


class NotFoundError(VenueError):
    """No site or room has this external code."""

    def __init__(self, entity: str, code: str) -> None:
        super().__init__(f"no {entity} with code {code!r}")
        if entity == "site":
            self.explain("venues.not_found.site", code=code)
        else:
            self.explain("venues.not_found.room", code=code)
        self.entity = entity
        self.code = code


class InvalidVenueDataError(VenueError):
    """A value is inconsistent with the stored venue (e.g. more seats booked than a room has)."""
