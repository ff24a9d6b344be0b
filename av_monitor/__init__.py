"""Room audio/video: WHIP ingest, WHEP viewing, the segmented recorder, playback, verification and retention.

A service on top of an evaluation (its recording schedule reads seats); imports `evaluation` and below only.
"""
