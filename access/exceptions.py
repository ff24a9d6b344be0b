"""Errors of access control (mapped to 401/403/409/422 by the app)."""

from __future__ import annotations


class AuthError(Exception):
    """Base class of access-control errors."""


class NotAuthenticated(AuthError):
    """No valid session or token: log in first."""


class LoginFailed(AuthError):
    """Wrong user name or password, an inactive account, or a locked one (the message says which is safe)."""


class Forbidden(AuthError):
    """The user's role or site scope does not allow this."""


class UserExists(AuthError):
    """A user with this name already exists."""


class InvalidUserData(AuthError):
    """A user field refers to something unknown (a site, expert or room code)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class LastAdminError(AuthError):
    """The change would leave no active admin (answered 409, naming `field`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
