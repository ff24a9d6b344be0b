"""Errors of the experts domain that a caller can act on (mapped to HTTP by the API layer)."""

from __future__ import annotations


class ExpertDomainError(Exception):
    """Base class of every experts error."""


class DuplicateCodeError(ExpertDomainError):
    """An expert, organisation or committee with this external code already exists."""

    def __init__(self, entity: str, code: str) -> None:
        super().__init__(f"an {entity} with code {code!r} already exists")
        self.entity = entity
        self.code = code


class DuplicateIdNumberError(ExpertDomainError):
    """Another expert already holds this identity-document number (the number is not echoed)."""

    def __init__(self) -> None:
        super().__init__("another expert already has this id_number")


class NotFoundError(ExpertDomainError):
    """No expert, organisation or committee has this external code."""

    def __init__(self, entity: str, code: str) -> None:
        super().__init__(f"no {entity} with code {code!r}")
        self.entity = entity
        self.code = code


class InvalidExpertDataError(ExpertDomainError):
    """A value is inconsistent (a leave ending before it starts, an unknown specialty code, …)."""


class ImportConflictError(ExpertDomainError):
    """An import's write clashed with a concurrent change (a unique code or id_number); nothing was written."""
