"""The audit ledger: an append-only SHA-256 hash chain every package may write to.

The floor above `config`: draws, check-ins, recordings, logins and page views all record here, and it
imports no other Yidi package. Payloads are public audit facts:
never secrets, never biometric data.
"""

from ledger.models import GENESIS_HASH, LedgerEntry, LedgerEntryPublic, LedgerError
from ledger.service import VerifyReport, append, entries, head, verify, verify_command

__all__ = [
    "GENESIS_HASH",
    "LedgerEntry",
    "LedgerEntryPublic",
    "LedgerError",
    "VerifyReport",
    "append",
    "entries",
    "head",
    "verify",
    "verify_command",
]
