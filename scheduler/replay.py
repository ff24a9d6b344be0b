"""Replay a published draw (D3): same instance + revealed seed + same software ⇒ identical result."""

from __future__ import annotations

import hashlib
from typing import Any

from scheduler.draw import draw_parsed, limits_of, software
from scheduler.exceptions import InstanceError
from scheduler.instance import Instance, canonical_bytes, sha256_hex


def replay_check(doc: dict[str, Any], inst: Instance, claimed: Any) -> tuple[bool, str]:
    """(ok, message): whether `claimed` is exactly the result of `doc` under its revealed seed."""
    if not isinstance(claimed, dict) or claimed.get("format") != "draw-result/1":
        return False, "the result is not a draw-result/1 document"
    seed = claimed.get("seed")
    if not isinstance(seed, str):
        return False, "the result reveals no seed ($.seed)"
    try:
        seed_bytes = bytes.fromhex(seed)
    except ValueError:
        return False, "$.seed is not hexadecimal"
    if hashlib.sha256(seed_bytes).hexdigest() != claimed.get("seed_sha256"):
        return False, "the revealed seed does not match its commitment ($.seed_sha256)"
    if sha256_hex(canonical_bytes(doc)) != claimed.get("instance_sha256"):
        return False, "the instance is not the one the result was drawn from ($.instance_sha256 differs)"
    if claimed.get("software") != software():
        return False, (f"the result was drawn by {claimed.get('software')!r}; this is {software()!r}: "
                       "replay with that version")
    try:
        again = draw_parsed(doc, inst, seed, cfg=limits_of(claimed))
    except InstanceError as exc:
        return False, str(exc)
    if canonical_bytes(again) != canonical_bytes(claimed):
        diff = [p["project"] for p, q in zip(again["projects"], claimed.get("projects", []), strict=False) if p != q]
        return False, f"MISMATCH: the replay differs (projects: {', '.join(diff) or 'document fields'})"
    return True, f"OK: the result replays exactly ({len(again['projects'])} projects, seed committed as " \
                 f"{claimed['seed_sha256'][:16]}…)"
