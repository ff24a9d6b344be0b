"""C2SP signed notes with Ed25519, and the `tlog-checkpoint` body they carry (pure: no database, no clock).

A signed note (c2sp.org/signed-note) is a UTF-8 text ending in a newline, a blank line, then one line per
signature: `— <key name> <base64(key hash || signature)>`. For Ed25519 the key hash is the first four
bytes of SHA-256(name || 0x0A || 0x01 || public key), and the signature is over the text's bytes. A
verifier key is written `<name>+<key hash, 8 hex digits>+<base64(0x01 || public key)>`: the string the
centre publishes and an inspector pins.

A checkpoint (c2sp.org/tlog-checkpoint) is a note whose text is `<origin>\\n<tree size>\\n<base64 root>\\n`,
plus extension lines; Yidi adds one, `yidi-time <UTC time>`, the moment the checkpoint was signed (the
RFC 3161 token over the whole note is the independent witness of that time).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ALG_ED25519 = 0x01
DASH = "\u2014"
TIME_PREFIX = "yidi-time "
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_NAME = re.compile(r"^[^\s+]+$")
_DECIMAL = re.compile(r"^(0|[1-9][0-9]{0,18})$")
Sign = Callable[[bytes], bytes]


class NoteError(ValueError):
    """A note, verifier key or checkpoint that is malformed or whose signature does not verify."""


def _check_name(name: str) -> None:
    if not name or not _NAME.match(name):
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")


def key_hash(name: str, public_key: bytes) -> bytes:
    """The 4-byte key hash of an Ed25519 note key."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    """One note verifier key: a name, its key hash and the Ed25519 public key."""

    name: str
    key_id: bytes
    public_key: bytes

    @property
    def text(self) -> str:
        """The published form `name+hash+base64key`."""
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """True if `signature` is this key's Ed25519 signature of `message`."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


def verifier(name: str, public_key: bytes) -> Verifier:
    """The verifier of an Ed25519 public key (32 raw bytes) under `name`."""
    _check_name(name)
    if len(public_key) != 32:
        raise NoteError("an Ed25519 public key has 32 bytes")
    return Verifier(name, key_hash(name, public_key), public_key)


def parse_verifier(text: str) -> Verifier:
    """Parse a published verifier key `name+hash+base64key`, checking its hash."""
    parts = text.strip().split("+", 2)  # the base64 key may itself hold "+"
    if len(parts) != 3:
        raise NoteError("a verifier key reads name+hash+key")
    name, hex_id, b64 = parts
    try:
        raw = base64.b64decode(b64, validate=True)
        key_id = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError):
        raise NoteError("the verifier key's hash or key is not valid hex/base64") from None
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise NoteError("only Ed25519 verifier keys (type 0x01) are supported")
    out = verifier(name, raw[1:])
    if out.key_id != key_id:
        raise NoteError("the verifier key's hash does not match its name and key")
    return out


def sign_note(text: str, name: str, sign: Sign, public_key: bytes) -> str:
    """The signed note: `text` (one or more lines ending in a newline) and one signature line."""
    _check_text(text)
    key = verifier(name, public_key)
    sig = sign(text.encode("utf-8"))
    return f"{text}\n{DASH} {name} {base64.b64encode(key.key_id + sig).decode()}\n"


def _check_text(text: str) -> None:
    if not text.endswith("\n") or "\n\n" in text or any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("a note's text is non-empty lines, each ending in a newline, with no control characters")


@dataclass(frozen=True)
class OpenedNote:
    """A note's text and the names of the known keys whose signatures on it verified."""

    text: str
    signed_by: list[Verifier]
    unknown: int  # signature lines of keys we do not know (other witnesses' cosignatures)


def open_note(note: str, known: Sequence[Verifier]) -> OpenedNote:
    """Split and verify a signed note; NoteError unless at least one known key's signature verifies."""
    text, sep, sigs = note.rpartition("\n\n")
    if not sep or not sigs.endswith("\n"):
        raise NoteError("a signed note is its text, a blank line, then signature lines")
    text += "\n"
    _check_text(text)
    message = text.encode("utf-8")
    good: list[Verifier] = []
    unknown = 0
    for line in sigs[:-1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise NoteError(f"malformed signature line {line[:60]!r}")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except (binascii.Error, ValueError):
            raise NoteError("a signature line's signature is not base64") from None
        matches = [k for k in known if k.name == parts[1] and k.key_id == raw[:4]]
        if not matches:
            unknown += 1
            continue
        if not matches[0].verify(message, raw[4:]):
            raise NoteError(f"the signature of {matches[0].text} on this note does not verify (forged or altered)")
        good.append(matches[0])
    if not good:
        raise NoteError("no signature on this note is by a known key (" + ", ".join(k.text for k in known) + ")")
    return OpenedNote(text, good, unknown)


@dataclass(frozen=True)
class Checkpoint:
    """A tlog-checkpoint body: the log's origin, its size and root hash, and Yidi's signing time."""

    origin: str
    size: int
    root: bytes
    time: datetime | None = None

    def text(self) -> str:
        """The note text of this checkpoint."""
        _check_name(self.origin)
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        if self.time is not None:
            lines.append(TIME_PREFIX + self.time.astimezone(UTC).strftime(TIME_FORMAT))
        return "\n".join(lines) + "\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint's note text (strict on the first three lines; other extension lines ignored)."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint has an origin, a size and a root hash line")
    origin, size, root = lines[0], lines[1], lines[2]
    _check_name(origin)
    if not _DECIMAL.match(size):
        raise NoteError(f"checkpoint size {size!r} is not a decimal without leading zeros")
    try:
        raw = base64.b64decode(root, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32 or base64.b64encode(raw).decode() != root:
        raise NoteError("the checkpoint's root hash is not 32 bytes of standard base64")
    when = None
    for ext in lines[3:-1]:
        if ext.startswith(TIME_PREFIX):
            try:
                when = datetime.strptime(ext[len(TIME_PREFIX):], TIME_FORMAT).replace(tzinfo=UTC)
            except ValueError:
                raise NoteError(f"malformed time line {ext!r}") from None
    return Checkpoint(origin, int(size), raw, when)


def open_checkpoint(note: str, known: Sequence[Verifier], origin: str | None = None) -> tuple[Checkpoint, OpenedNote]:
    """Verify a signed checkpoint note and parse it; NoteError on a bad signature or another log's origin."""
    opened = open_note(note, known)
    cp = parse_checkpoint(opened.text)
    if origin is not None and cp.origin != origin:
        raise NoteError(f"the checkpoint is of log {cp.origin!r}, not {origin!r}")
    return cp, opened
