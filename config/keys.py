"""Key material from settings or from a development key file created on first use."""

from __future__ import annotations

import base64
import binascii
import logging
import os
import threading
from pathlib import Path

from itsdangerous import URLSafeTimedSerializer

from config.settings import get_settings

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_secret_cache: dict[tuple[str, str], bytes] = {}


class KeyMaterialError(ValueError):
    """A configured key is not valid base64 or has the wrong length."""


def decode_key(text: str, origin: str, nbytes: int = 32) -> bytes:
    """Decode a base64 key of exactly `nbytes` bytes; `origin` names where it came from."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyMaterialError(f"the key from {origin} is not valid base64") from None
    if len(key) != nbytes:
        raise KeyMaterialError(f"the key from {origin} must decode to {nbytes} bytes, not {len(key)}")
    return key


def key_from_file(path: Path, nbytes: int = 32, purpose: str = "key") -> bytes:
    """Read the key file, creating it with a random key when absent (development only)."""
    try:
        return decode_key(path.read_text(encoding="ascii"), str(path), nbytes)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    text = base64.b64encode(os.urandom(nbytes)).decode("ascii")
    try:
        # O_EXCL: two processes starting together must not each write a different key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return decode_key(path.read_text(encoding="ascii"), str(path), nbytes)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text + "\n")
    logger.warning("no %s configured: generated a development key file at %s; configure a managed key in "
                   "production", purpose, path)
    return decode_key(text, str(path), nbytes)


def secret_key() -> bytes:
    """The server secret for sessions, tokens and signed links (settings, else a dev key file)."""
    s = get_settings()
    cache = (s.secret_key, str(s.secret_key_file))
    with _lock:
        if cache not in _secret_cache:
            if s.secret_key:
                _secret_cache[cache] = decode_key(s.secret_key, "settings.secret_key", 32)
            else:
                _secret_cache[cache] = key_from_file(Path(s.secret_key_file), 32, "YIDI_SECRET_KEY")
        return _secret_cache[cache]


def secret_text() -> str:
    """The server secret as text (for libraries that take a string)."""
    return base64.b64encode(secret_key()).decode("ascii")


def serializer(salt: str) -> URLSafeTimedSerializer:
    """A timed signer for one purpose (`salt` keeps purposes apart: a token is not a link)."""
    return URLSafeTimedSerializer(secret_text(), salt=salt)
