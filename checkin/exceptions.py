"""Refusals of check-in and sign-off, each naming the field at fault (mapped to HTTP by api/errors.py)."""

from __future__ import annotations


class CheckinRefused(Exception):
    """A refused check-in, sign-off or report request: HTTP status, the field at fault and a dotted type."""

    def __init__(self, status: int, field: str, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.field = field
        self.kind = kind


def challenge_invalid(message: str) -> CheckinRefused:
    """The challenge token is forged, expired, used, or for another terminal, purpose or ID."""
    return CheckinRefused(422, "token", "checkin.challenge", message)


UNKNOWN_MESSAGE = ("this ID number cannot be verified at this terminal (unknown, or no enrolled face); "
                   "please ask the supervisor for a manual check-in")
LOCKED_MESSAGE = ("too many failed attempts; wait {minutes} minutes or ask the supervisor for a manual check-in")
NO_SEAT_MESSAGE = ("verified, but you hold no seat in this room for an evaluation open for check-in now; "
                   "please ask the supervisor")
