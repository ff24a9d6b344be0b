"""Errors of face enrolment and verification (mapped to HTTP by api/errors.py)."""

from __future__ import annotations


class FaceEnrolmentError(Exception):
    """Base class of the face enrolment errors."""


class ConsentRequired(FaceEnrolmentError):
    """Enrolment without the expert's recorded consent (PIPL) is refused."""

    def __init__(self) -> None:
        super().__init__("the expert's consent is required to enrol a face (consent=true)")


class NoPhotos(FaceEnrolmentError):
    """Enrolment needs at least one photo."""

    def __init__(self) -> None:
        super().__init__("at least one reference photo is required")


class NotEnrolled(FaceEnrolmentError):
    """The expert has no face template."""

    def __init__(self, code: str) -> None:
        super().__init__(f"expert {code!r} has no enrolled face")
        self.code = code
