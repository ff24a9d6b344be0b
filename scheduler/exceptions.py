"""Errors of the draw that a coordinator can act on."""

from __future__ import annotations


class InstanceError(ValueError):
    """A malformed or inconsistent instance; `path` is the JSON path of the offending value."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class ReplayMismatch(Exception):
    """A result does not match what its instance and revealed seed produce."""


class ReplacementError(Exception):
    """No legal replacement exists for a seat (R1); the message says what to do."""
