"""The checkpoint signing key: outside the database, behind a small interface (a key file; PKCS#11 or a KMS plug in).

The key file holds an Ed25519 private key (PKCS#8 PEM, mode 0600) on the service host, never in the
database, so a database role or a restored backup cannot sign a checkpoint. `ledger_signer = "file"` is
the built-in signer; `register_signer` adds others (a PKCS#11 token or a cloud KMS only needs `name`,
`public_key` and `sign`). Rotation: point the key file at a new key and list the old key's verifier
string in `ledger_previous_keys`; both are published and both verify.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from config.settings import Settings, get_settings
from ledger.models import LedgerError
from ledger.note import NoteError, Verifier, parse_verifier, verifier

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_cache: dict[tuple[str, str, str], CheckpointSigner] = {}


class SigningKeyError(LedgerError):
    """The signing key cannot be read or is not an Ed25519 key (the message names the file)."""


class CheckpointSigner(Protocol):
    """What signs checkpoints: a key name (the log's origin), the raw public key and a signing function."""

    name: str

    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        ...

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `message`."""
        ...


def write_key(path: Path) -> Ed25519PrivateKey:
    """Create a new Ed25519 key file at `path` (0600, never overwritten); FileExistsError if present."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two processes starting together must not each write a different key.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key


class FileSigner:
    """An Ed25519 key in a PEM file; created on first use only when `create` (development)."""

    def __init__(self, name: str, path: Path, *, create: bool) -> None:
        self.name = name
        self.path = path
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            if not create:
                raise SigningKeyError(f"the checkpoint signing key {path} does not exist; make one with "
                                      "`yidi ledger keygen`") from None
            try:
                write_key(path)
                logger.warning("no checkpoint signing key: generated a development key at %s; in production make "
                               "one with `yidi ledger keygen` on a host the database cannot read", path)
            except FileExistsError:
                pass
            data = path.read_bytes()
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            raise SigningKeyError(f"{path} is not an unencrypted PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{path} is not an Ed25519 key")
        self._key = key

    def public_key(self) -> bytes:
        """The raw public key."""
        return self._key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def sign(self, message: bytes) -> bytes:
        """Sign with the file's key."""
        return self._key.sign(message)


SignerFactory = Callable[[Settings], CheckpointSigner]
_FACTORIES: dict[str, SignerFactory] = {
    "file": lambda s: FileSigner(s.ledger_origin, Path(s.ledger_signing_key_file), create=s.ledger_signing_key_create),
}


def register_signer(kind: str, factory: SignerFactory) -> None:
    """Make a signer selectable with `ledger_signer = kind` (a PKCS#11 token, a KMS)."""
    _FACTORIES[kind] = factory


def signer(settings: Settings | None = None) -> CheckpointSigner:
    """The configured signer (cached per process and per configuration)."""
    s = settings or get_settings()
    cache = (s.ledger_signer, s.ledger_origin, str(s.ledger_signing_key_file))
    with _lock:
        if cache not in _cache:
            factory = _FACTORIES.get(s.ledger_signer)
            if factory is None:
                raise SigningKeyError(f"unknown ledger_signer setting {s.ledger_signer!r}")
            _cache[cache] = factory(s)
        return _cache[cache]


def current_verifier(settings: Settings | None = None) -> Verifier:
    """The verifier key of the signing key in use."""
    sig = signer(settings)
    return verifier(sig.name, sig.public_key())


def verifiers(settings: Settings | None = None) -> list[Verifier]:
    """Every key a checkpoint of this log may carry: the current one, then `ledger_previous_keys`."""
    s = settings or get_settings()
    out = [current_verifier(s)]
    for text in s.ledger_previous_keys:
        try:
            out.append(parse_verifier(text))
        except NoteError as exc:
            raise SigningKeyError(f"ledger_previous_keys: {exc}") from None
    return out
