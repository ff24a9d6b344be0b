"""The RFC 3161 client against a real local TSA (openssl ts over HTTP): granted, verified, and every refusal."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ledger.tsa import Stamp, TsaError, load_certificates, request_stamp, safe_url, stamp_time, verify_stamp
from tests.tsa_fixtures import LocalTsa

CHECKPOINT = b"yidi.example/ledger\n42\nq0Zx3VtqGKd1W8k1W+V1z0Bz3m6Dq2uF1bV5sT1x9Xo=\n"


def _unrelated_ca() -> x509.Certificate:
    """A self-signed CA that signed nothing the local TSA uses."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some other TSA root")])
    now = datetime.now(UTC)
    return (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))


def _closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (the port was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/tsa"


@pytest.fixture(scope="module")
def stamp(tsa: LocalTsa) -> Stamp:
    """One stamp of CHECKPOINT from the local TSA, verified on receipt."""
    return request_stamp(CHECKPOINT, url=tsa.url, roots=load_certificates(tsa.ca_pem))


def test_a_stamp_is_granted_and_verifies_offline(tsa: LocalTsa, stamp: Stamp) -> None:
    before = tsa.requests
    plain = request_stamp(CHECKPOINT, url=tsa.url)  # without roots: the on-line checks only
    assert tsa.requests == before + 1 and plain.serial != stamp.serial
    assert abs(datetime.now(UTC) - stamp.time) < timedelta(minutes=1)
    assert stamp.time.tzinfo is not None and stamp.time.utcoffset() == timedelta(0)
    again = verify_stamp(stamp.token, CHECKPOINT, roots=load_certificates(tsa.ca_path.read_bytes()))
    assert again == stamp
    assert stamp_time(stamp.token) == stamp.time
    assert stamp.token[:1] == b"\x30"  # the DER TimeStampResp as answered, not just the token inside it


def test_verify_rejects_the_token_for_other_data(tsa: LocalTsa, stamp: Stamp) -> None:
    with pytest.raises(TsaError, match="the timestamp token is for another message"):
        verify_stamp(stamp.token, CHECKPOINT + b"x", roots=load_certificates(tsa.ca_pem))


def test_verify_rejects_a_token_against_an_unrelated_ca(stamp: Stamp) -> None:
    with pytest.raises(TsaError, match="does not chain to the configured TSA certificate"):
        verify_stamp(stamp.token, CHECKPOINT, roots=[_unrelated_ca()])
    with pytest.raises(TsaError, match="no TSA CA certificate is configured"):
        verify_stamp(stamp.token, CHECKPOINT, roots=[])


def test_request_with_roots_rejects_a_tsa_outside_them(tsa: LocalTsa) -> None:
    with pytest.raises(TsaError, match=f"at {tsa.url} answered a token that does not verify: .*does not chain"):
        request_stamp(CHECKPOINT, url=tsa.url, roots=[_unrelated_ca()])


def test_a_tsa_that_is_down_is_named(tsa: LocalTsa) -> None:
    with tsa.down(), pytest.raises(TsaError, match=f"the time-stamp authority at {tsa.url} answered HTTP 503"):
        request_stamp(CHECKPOINT, url=tsa.url)


def test_a_tsa_where_nothing_listens_is_named() -> None:
    url = _closed_port_url()
    with pytest.raises(TsaError, match=f"the time-stamp authority at {url} could not be reached \\(ConnectError\\)"):
        request_stamp(CHECKPOINT, url=url, timeout=2.0)


def test_an_answer_for_another_hash_is_rejected(tsa: LocalTsa) -> None:
    with tsa.wrong_hash(), pytest.raises(TsaError, match=f"at {tsa.url} answered for another hash"):
        request_stamp(CHECKPOINT, url=tsa.url)


def test_a_refusal_is_reported_with_its_status_strings(tsa: LocalTsa) -> None:
    expected = f"at {tsa.url} refused: REJECTION: Message digest algorithm is not supported"
    with tsa.refusing(), pytest.raises(TsaError, match=expected):
        request_stamp(CHECKPOINT, url=tsa.url)


def test_a_garbage_answer_is_rejected(tsa: LocalTsa) -> None:
    expected = f"at {tsa.url} answered something that is not an RFC 3161 TimeStampResp"
    with tsa.garbage(), pytest.raises(TsaError, match=expected):
        request_stamp(CHECKPOINT, url=tsa.url)
    for junk in (b"", b"garbage", b"\x30\x03abc"):
        with pytest.raises(TsaError, match="the timestamp token is not an RFC 3161 TimeStampResp"):
            verify_stamp(junk, CHECKPOINT, roots=load_certificates(tsa.ca_pem))
        with pytest.raises(TsaError, match="not an RFC 3161 TimeStampResp"):
            stamp_time(junk)


def test_the_local_tsa_refuses_a_garbage_query(tsa: LocalTsa) -> None:
    answer = httpx.post(tsa.url, content=b"garbage", headers={"Content-Type": "application/timestamp-query"})
    assert answer.status_code == 400


def test_a_truncated_token_is_rejected(tsa: LocalTsa, stamp: Stamp) -> None:
    with pytest.raises(TsaError, match="not an RFC 3161 TimeStampResp"):
        verify_stamp(stamp.token[:-10], CHECKPOINT, roots=load_certificates(tsa.ca_pem))


def test_load_certificates_needs_a_pem_certificate(tsa: LocalTsa) -> None:
    assert len(load_certificates(tsa.ca_pem + tsa.tsa_cert_pem)) == 2
    for junk in (b"", b"not a certificate", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"):
        with pytest.raises(TsaError, match="no PEM certificate found"):
            load_certificates(junk)


def test_the_url_in_messages_carries_no_secret() -> None:
    assert safe_url("https://user:s3cret@tsa.example:8443/stamp?key=s3cret") == "https://tsa.example:8443/stamp?…"
    with pytest.raises(TsaError) as caught:
        request_stamp(CHECKPOINT, url=_closed_port_url().replace("http://", "http://u:s3cret@") + "?token=s3cret")
    assert "s3cret" not in str(caught.value)
