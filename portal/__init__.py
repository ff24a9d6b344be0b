"""The pages that need evaluations: the signed RSVP link page and the expert's own page (`/me`).

A service on top of an evaluation and the outbox; imports `evaluation`, `notify` and below only.
"""
