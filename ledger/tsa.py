"""RFC 3161 time-stamps for the ledger's checkpoints, from a Time-Stamp Authority of the deployment's choice.

`request_stamp` sends the SHA-256 imprint of a signed checkpoint to the TSA over HTTP (a random nonce,
certReq set) and checks the answer: granted, nonce echoed, imprint ours, and, when the TSA's CA
certificates are given, the full offline verification. `verify_stamp` is that offline verification
(signature chaining to one of the configured CA certificates, the signer's critical timeStamping EKU,
the imprint), for the stored token alone. The token kept is the DER TimeStampResp exactly as the TSA
answered it. ASN.1 and CMS are left to the `rfc3161_client` library.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import httpx
from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

logger = logging.getLogger(__name__)

SHA256_OID = x509.ObjectIdentifier("2.16.840.1.101.3.4.2.1")
QUERY_TYPE = "application/timestamp-query"
REPLY_TYPES = ("application/timestamp-reply", "application/timestamp-response")  # the second: older TSAs


class TsaError(Exception):
    """The TSA could not be reached, refused, or answered something that does not verify (the message says which, and names the URL but never secrets)."""  # noqa: E501


@dataclass(frozen=True)
class Stamp:
    """A granted time-stamp: the TSA's DER TimeStampResp as answered, its genTime (UTC) and serial number."""

    token: bytes
    time: datetime
    serial: int


def safe_url(url: str) -> str:
    """The URL without user information or query string (either may carry a credential)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
    except ValueError:
        return "<an invalid URL>"
    return urlunsplit((parts.scheme, netloc, parts.path, "…" if parts.query else "", ""))


def _decode(token: bytes, what: str, *, answered: bool) -> TimeStampResponse:
    """The parsed TimeStampResp, granted, with a token inside; TsaError naming `what` (a TSA's answer or a token)."""
    said = f"{what} answered something that is" if answered else f"{what} is"
    try:
        response = decode_timestamp_response(token)
    except ValueError as e:
        raise TsaError(f"{said} not an RFC 3161 TimeStampResp ({e})") from None
    if response.status != PKIStatus.GRANTED:
        try:
            status = PKIStatus(response.status).name
        except ValueError:
            status = f"status {response.status}"
        reasons = "; ".join(response.status_string) or "no reason given"
        raise TsaError(f"{what} {'refused' if answered else 'records a refusal'}: {status}: {reasons}")
    try:
        response.tst_info  # noqa: B018 (reading it is the check: a granted response must carry a token)
    except ValueError as e:
        raise TsaError(f"{said} a granted TimeStampResp without a token ({e})") from None
    return response


def _stamp(token: bytes, response: TimeStampResponse) -> Stamp:
    """The Stamp of a decoded response."""
    info = response.tst_info
    time = info.gen_time
    time = time.replace(tzinfo=UTC) if time.tzinfo is None else time.astimezone(UTC)
    return Stamp(token=token, time=time, serial=info.serial_number)


def _is_for(response: TimeStampResponse, data: bytes) -> bool:
    """Whether the response's message imprint is the SHA-256 of data."""
    imprint = response.tst_info.message_imprint
    return imprint.hash_algorithm == SHA256_OID and imprint.message == hashlib.sha256(data).digest()


def request_stamp(data: bytes, *, url: str, timeout: float = 10.0, roots: Sequence[x509.Certificate] = ()) -> Stamp:
    """Have the TSA at url time-stamp sha256(data); checked as the module says, TsaError on any failure."""
    where = safe_url(url)
    what = f"the time-stamp authority at {where}"
    query = TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA256).nonce(nonce=True)
    request = query.cert_request(cert_request=True).build()
    try:
        answer = httpx.post(url, content=request.as_bytes(), timeout=timeout,
                            headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPES[0]})
    except (httpx.HTTPError, httpx.InvalidURL) as e:
        logger.warning("time-stamp authority %s unreachable: %s", where, type(e).__name__)
        raise TsaError(f"{what} could not be reached ({type(e).__name__})") from None
    if answer.status_code != 200:
        logger.warning("time-stamp authority %s answered HTTP %d", where, answer.status_code)
        raise TsaError(f"{what} answered HTTP {answer.status_code} {answer.reason_phrase}".rstrip())
    content_type = answer.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type not in REPLY_TYPES:
        raise TsaError(f"{what} answered {content_type or 'no Content-Type'}, not {REPLY_TYPES[0]}")
    token = answer.content
    response = _decode(token, what, answered=True)
    if response.tst_info.nonce != request.nonce:
        raise TsaError(f"{what} did not echo the request's nonce")
    if not _is_for(response, data):
        raise TsaError(f"{what} answered for another hash")
    if roots:
        try:
            verify_stamp(token, data, roots=roots)
        except TsaError as e:
            raise TsaError(f"{what} answered a token that does not verify: {e}") from None
    stamp = _stamp(token, response)
    logger.info("time-stamp %d from %s at %s", stamp.serial, where, stamp.time.isoformat())
    return stamp


def verify_stamp(token: bytes, data: bytes, *, roots: Sequence[x509.Certificate]) -> Stamp:
    """Verify offline that token is a granted time-stamp of sha256(data) by a TSA chaining to one of roots."""
    if not roots:
        raise TsaError("no TSA CA certificate is configured to verify the timestamp token against")
    response = _decode(token, "the timestamp token", answered=False)
    if not _is_for(response, data):
        raise TsaError("the timestamp token is for another message")
    verifier = VerifierBuilder(roots=list(roots)).build()
    try:
        verifier.verify_message(response, data)
    except VerificationError as e:
        if str(e).startswith("Error while verifying certificates"):
            raise TsaError("the timestamp token's signature does not chain to the configured TSA certificate") from None
        raise TsaError(f"the timestamp token does not verify: {e}") from None
    except ValueError as e:  # the library's parsing of embedded certificates
        raise TsaError(f"the timestamp token does not verify: {e}") from None
    return _stamp(token, response)


def load_certificates(pem: bytes) -> list[x509.Certificate]:
    """All PEM certificates in a bundle; TsaError if there is none."""
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise TsaError("no PEM certificate found in the TSA certificate bundle") from None
    return certificates


def stamp_time(token: bytes) -> datetime:
    """The genTime (UTC) of a token, without verifying it (for display)."""
    return _stamp(token, _decode(token, "the timestamp token", answered=False)).time
