"""Sealing of confidential draw data at rest (rule D5): AES-256-GCM with context-bound AAD.

A sealed blob is `nonce (12 bytes) ‖ ciphertext+tag`. The associated data (AAD) names the
blob's place (`draw_aad`, `seat_aad`, `replacement_aad`), so a blob copied into another row
fails to unseal instead of silently moving an expert to another seat. Keys and plaintexts are
never logged.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from config.keys import KeyMaterialError, decode_key, key_from_file
from config.settings import Settings, get_settings

logger = logging.getLogger(__name__)

KEY_BYTES = 32
NONCE_BYTES = 12
_TAG_BYTES = 16
_lock = threading.Lock()
_key_cache: dict[tuple[str, str], bytes] = {}


class SealError(Exception):
    """A blob cannot be sealed or unsealed: wrong key, wrong context (AAD), tampering, bad key."""


def load_key(settings: Settings | None = None) -> bytes:
    """The 32-byte sealing key: `settings.seal_key` (base64) or else the key file, created if absent."""
    s = settings or get_settings()
    cache_key = (s.seal_key, str(s.seal_key_file))
    with _lock:
        if cache_key not in _key_cache:
            try:
                if s.seal_key:
                    _key_cache[cache_key] = decode_key(s.seal_key, "settings.seal_key", KEY_BYTES)
                else:
                    _key_cache[cache_key] = key_from_file(Path(s.seal_key_file), KEY_BYTES, "YIDI_SEAL_KEY")
            except KeyMaterialError as exc:
                raise SealError(f"seal key: {exc}") from None
        return _key_cache[cache_key]


def generate_key_b64() -> str:
    """A fresh random key, base64, for YIDI_SEAL_KEY."""
    return base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")


def seal(plaintext: bytes, *, aad: bytes, key: bytes | None = None) -> bytes:
    """Encrypt and authenticate `plaintext` bound to `aad`; returns nonce ‖ ciphertext."""
    k = key if key is not None else load_key()
    if len(k) != KEY_BYTES:
        raise SealError(f"a seal key must be {KEY_BYTES} bytes")
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(k).encrypt(nonce, plaintext, aad)


def unseal(blob: bytes, *, aad: bytes, key: bytes | None = None) -> bytes:
    """Decrypt a blob from `seal`; SealError when the key, the AAD or the blob is wrong."""
    k = key if key is not None else load_key()
    if len(k) != KEY_BYTES:
        raise SealError(f"a seal key must be {KEY_BYTES} bytes")
    if len(blob) < NONCE_BYTES + _TAG_BYTES:
        raise SealError("the sealed blob is truncated")
    try:
        return AESGCM(k).decrypt(bytes(blob[:NONCE_BYTES]), bytes(blob[NONCE_BYTES:]), aad)
    except InvalidTag:
        raise SealError(
            "the sealed blob does not authenticate: wrong key, wrong context, or tampered data"
        ) from None


def seal_text(text: str, *, aad: bytes, key: bytes | None = None) -> bytes:
    """`seal` for UTF-8 text (an expert code, a result JSON)."""
    return seal(text.encode("utf-8"), aad=aad, key=key)


def unseal_text(blob: bytes, *, aad: bytes, key: bytes | None = None) -> str:
    """`unseal` returning UTF-8 text."""
    return unseal(blob, aad=aad, key=key).decode("utf-8")


def draw_aad(draw_id: int) -> bytes:
    """AAD of a draw's sealed result: b"draw:<id>"."""
    return f"draw:{draw_id}".encode()


def seed_aad(draw_id: int) -> bytes:
    """AAD of a committed draw's seed, kept sealed until the draw runs."""
    return f"seed:{draw_id}".encode()


def seat_aad(draw_id: int, project_code: str, need: str, room_code: str) -> bytes:
    """AAD of a seat's sealed expert: binds it to its draw, project, need and room."""
    return f"seat:{draw_id}:{project_code}:{need}:{room_code}".encode()


def replacement_aad(project_code: str, need: str, role: str, at: datetime) -> bytes:
    """AAD of a replacement's sealed expert; `role` is "replaced" or "new", `at` the record's time."""
    return f"replacement:{project_code}:{need}:{role}:{at.astimezone(UTC).isoformat()}".encode()
