"""Signed confirm/decline links and the opaque RSVP reference they carry.

A token carries only the opaque reference (HMAC of draw:project:expert with the server secret),
never an expert or project code: a URL ends up in access logs and browser histories (rule D5).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired

from config.keys import secret_key, serializer
from config.settings import get_settings
from notify.exceptions import BadLink

SALT = "rsvp"
Action = Literal["confirm", "decline"]


def rsvp_ref(draw_id: int, project_code: str, expert_code: str) -> str:
    """The opaque, stable reference of one seat holder's answer (hex HMAC-SHA256)."""
    msg = f"rsvp:{draw_id}:{project_code}:{expert_code}".encode()
    return hmac.new(secret_key(), msg, hashlib.sha256).hexdigest()


def make_token(ref: str) -> str:
    """A signed, timed token for the RSVP reference."""
    return serializer(SALT).dumps({"r": ref})


def read_token(token: str) -> str:
    """The RSVP reference in a token; BadLink when forged, expired or malformed."""
    max_age = get_settings().rsvp_link_max_age_hours * 3600
    try:
        data = serializer(SALT).loads(token, max_age=max_age)
    except SignatureExpired:
        raise BadLink("this link has expired") from None
    except BadSignature:
        raise BadLink("this link is not valid") from None
    ref = data.get("r") if isinstance(data, dict) else None
    if not isinstance(ref, str) or len(ref) != 64:
        raise BadLink("this link is not valid")
    return ref


def link_url(ref: str, action: Action) -> str:
    """The absolute URL of the RSVP page for `ref`, with the action pre-selected."""
    base = get_settings().public_base_url.rstrip("/")
    return f"{base}/rsvp/{quote(make_token(ref), safe='')}?action={action}"
