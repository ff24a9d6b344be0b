"""The ledger's checkpoint settings (signing key, time-stamp authority, witnesses): a part of `Settings`.

Kept apart so config/settings.py stays readable; `Settings` inherits these fields, with the same
`YIDI_` prefix and `.env` file (`.env.example` lists them).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LedgerSettings(BaseSettings):
    """Signed checkpoints of the ledger, their time-stamps and witnesses (ledger/, audit/witness.py)."""

    model_config = SettingsConfigDict(env_prefix="YIDI_", env_file=".env", extra="ignore")

    ledger_origin: str = Field(
        default="yidi.local/ledger", min_length=1, max_length=128, pattern=r"^[^\s+]+$",
        description="The log's identity on its checkpoints and the signing key's name: the deployment's domain and "
        "a path, e.g. ggzy.jinan.gov.cn/yidi-ledger. Changing it starts a new log for every verifier.",
    )
    ledger_signer: str = Field(
        default="file", min_length=1, max_length=32, description="What signs checkpoints: 'file' (an Ed25519 key "
        "file) or a signer registered with ledger.signing.register_signer (a PKCS#11 token, a KMS).",
    )
    ledger_signing_key_file: Path = Field(
        default=Path("var/ledger-signing-key.pem"), description="The Ed25519 checkpoint signing key (PKCS#8 PEM, "
        "mode 0600) on the service host, never in the database; make one with `yidi ledger keygen`.",
    )
    ledger_signing_key_create: bool = Field(
        default=True, description="Generate the key file when it is missing (development). Set false in "
        "production, so a lost key file stops signing instead of silently starting a new key.",
    )
    ledger_previous_keys: list[str] = Field(
        default_factory=list, description="Verifier keys (name+hash+key) of rotated-out signing keys, as a JSON "
        "list: still accepted on old checkpoints and published beside the current key.",
    )
    ledger_checkpoint_minutes: int = Field(
        default=10, ge=1, le=24 * 60, description="A checkpoint is signed this often when the ledger has grown "
        "(and always on a draw commitment, before a seed is revealed and for an evidence export).",
    )
    ledger_verify_minutes: int = Field(
        default=60, ge=1, le=7 * 24 * 60, description="How often the whole ledger is verified against every "
        "stored checkpoint; a failure alerts the supervisors and the witnesses.",
    )
    ledger_verify_window: int = Field(
        default=1_000_000, ge=1000, le=10**9, description="The scheduled check verifies a ledger of up to this many "
        "entries in full; a larger one against every checkpoint and the stored tree, plus this many entries from a "
        "random start and those since the last checkpoint (`yidi ledger verify` always reads everything).",
    )
    ledger_tsa_url: str = Field(
        default="", max_length=500, description="The RFC 3161 time-stamp authority that stamps every checkpoint "
        "(HTTP POST application/timestamp-query). Empty: no time-stamps, and seeds are revealed without waiting.",
    )
    ledger_tsa_ca_file: Path | None = Field(
        default=None, description="PEM bundle of the TSA's CA certificates: every token is verified against it "
        "and it is shipped in evidence zips. Required with ledger_tsa_url.",
    )
    ledger_tsa_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="Time allowed for one time-stamp request."
    )
    ledger_witness_emails: list[str] = Field(
        default_factory=list, description="Mailboxes of the supervising organisations that receive every "
        "time-stamped checkpoint (and any verification failure), as a JSON list.",
    )
    ledger_witness_webhooks: list[str] = Field(
        default_factory=list, description="URLs that receive every checkpoint as a JSON POST, as a JSON list.",
    )
