"""Head-turn challenges: signed, short-lived, bound to one terminal, one purpose and one ID number, used once.

The token carries a keyed hash of the ID number, never the number itself, so a token seen in a
browser's history or a proxy log reveals no personal data.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature

from checkin import liveness
from checkin.exceptions import challenge_invalid
from checkin.models import ChallengePublic
from config.keys import secret_key, serializer
from config.settings import get_settings
from experts.models import normalise_id_number

SALT = "checkin-challenge"


def normalise_id(id_number: str) -> str:
    """The ID number as stored (experts.models.normalise_id_number)."""
    return normalise_id_number(id_number)


def id_hash(id_number: str) -> str:
    """A keyed hash of a normalised ID number (HMAC-SHA256 with the server secret), truncated."""
    text = "id:" + normalise_id(id_number)
    return hmac.new(secret_key(), text.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class Challenge:
    """A verified challenge token's content."""

    nonce: str
    direction: liveness.Direction
    purpose: str


def issue(*, user_id: int, id_number: str, purpose: str, now: datetime) -> ChallengePublic:
    """A new random head-turn challenge for this terminal user and ID number."""
    s = get_settings()
    direction = liveness.choose_direction()
    nonce = secrets.token_hex(16)
    # The issue time is the service clock's (config.clock), so expiry follows the same clock as the window.
    token = serializer(SALT).dumps({"u": user_id, "i": id_hash(id_number), "p": purpose, "d": direction, "n": nonce,
                                    "t": now.timestamp()})
    return ChallengePublic(token=token, direction=direction,
                           expires_at=now + timedelta(seconds=s.checkin_challenge_seconds),
                           frames_min=s.liveness_min_frames, frames_max=s.liveness_max_frames,
                           frame_interval_ms=s.checkin_frame_interval_ms, max_width=s.checkin_frame_max_width)


def read(token: str, *, user_id: int, id_number: str, purpose: str, now: datetime) -> Challenge:
    """The challenge of a token issued to this terminal, for this ID and purpose; CheckinRefused otherwise."""
    try:
        data = serializer(SALT).loads(token)
    except BadSignature:
        raise challenge_invalid("the challenge token is not valid; start again") from None
    if (not isinstance(data, dict) or data.get("d") not in ("left", "right")
            or not isinstance(data.get("t"), (int, float))):
        raise challenge_invalid("the challenge token is not valid; start again")
    age = now.timestamp() - float(data["t"])
    if not -5 <= age <= get_settings().checkin_challenge_seconds:
        raise challenge_invalid("the challenge has expired; start again")
    if data.get("u") != user_id or data.get("p") != purpose:
        raise challenge_invalid("the challenge was issued to another terminal or for another step; start again")
    if not hmac.compare_digest(str(data.get("i", "")), id_hash(id_number)):
        raise challenge_invalid("the challenge was issued for another ID number; start again")
    return Challenge(nonce=str(data["n"]), direction=data["d"], purpose=purpose)
