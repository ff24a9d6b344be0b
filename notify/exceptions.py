"""Errors of the notification package (the RSVP page maps them to clear 4xx pages)."""


class BadLink(ValueError):
    """A confirm/decline link that is forged, expired, malformed or unknown."""


class LinkNoLongerValid(ValueError):
    """The link's seat is no longer held by its expert (replaced, or the evaluation has started)."""
