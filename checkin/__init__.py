"""Expert check-in at room terminals: challenge, liveness, 1:1 face match, seat check, no-shows, sign-off.

A service on top of an evaluation; imports `evaluation` and below, never `av_monitor`, `portal`, `audit` or `api`.
"""
