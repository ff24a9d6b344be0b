"""A real RFC 3161 Time-Stamp Authority for the tests: `openssl ts -reply` behind a small HTTP server.

At session start a throw-away root CA and a TSA certificate it signs (EKU timeStamping, critical) are made
with the openssl CLI; every POST to `tsa.url` is answered with the DER TimeStampResp openssl writes, so
the product's client speaks real HTTP and verifies real tokens. `tsa.down()` makes it answer 503,
`tsa.wrong_hash()` makes it stamp another message, `tsa.refusing()` makes openssl reject the request (a real
PKIStatus rejection), `tsa.garbage()` makes it answer 200 with bytes that are no TimeStampResp.
Without openssl the tests are skipped, except under CI=true, where its absence fails.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

POLICY = "1.2.3.4.1"
OTHER_MESSAGE = b"other"
MAX_QUERY = 64 * 1024

# One file for the certificates (req/x509 sections) and the TSA (ts sections), as `openssl ts` reads it.
OPENSSL_CONF = """\
[ req ]
distinguished_name = req_dn
prompt = no

[ req_dn ]
CN = unused

[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ v3_tsa ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ tsa ]
default_tsa = tsa_config

{sections}"""


# `tsa_config` is the TSA; `tsa_refusing` (for `refusing()`) is the same TSA accepting only SHA-512 imprints,
# so it rejects the client's SHA-256 ones.
TSA_SECTION = """\
[ {name} ]
dir = {dir}
serial = $dir/tsaserial
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
certs = $dir/ca.pem
signer_digest = sha256
default_policy = {policy}
digests = {digests}
accuracy = secs:1
clock_precision_digits = 0
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def need_openssl() -> str:
    """The openssl executable; skip without it, except under CI=true where its absence fails the test."""
    found = shutil.which("openssl")
    if found is not None:
        return found
    reason = "the openssl command is required for the local TSA (Debian: apt-get install openssl)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; it is mandatory under CI=true", pytrace=False)
    pytest.skip(reason)


def _run(openssl: str, *args: str | Path, cwd: Path) -> None:
    """Run one openssl command; a failure shows its stderr."""
    done = subprocess.run([openssl, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.strip()}")


def make_tsa_pki(openssl: str, folder: Path) -> Path:
    """Write ca.pem/ca.key, tsa.pem/tsa.key, the serial file and openssl.cnf into folder; return the config."""
    conf = folder / "openssl.cnf"
    sections = [TSA_SECTION.format(name="tsa_config", dir=folder, policy=POLICY, digests="sha256, sha384, sha512"),
                TSA_SECTION.format(name="tsa_refusing", dir=folder, policy=POLICY, digests="sha512")]
    conf.write_text(OPENSSL_CONF.format(sections="\n".join(sections)))
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    _run(openssl, "req", "-config", conf, "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650",
         "-sha256", "-subj", "/O=Yidi tests/CN=Yidi test TSA root", "-extensions", "v3_ca", cwd=folder)
    _run(openssl, "req", "-config", conf, "-new", *ec, "-keyout", "tsa.key", "-out", "tsa.csr",
         "-subj", "/O=Yidi tests/CN=Yidi test TSA", cwd=folder)
    _run(openssl, "x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "2",
         "-days", "3650", "-sha256", "-extfile", conf, "-extensions", "v3_tsa", "-out", "tsa.pem", cwd=folder)
    (folder / "tsaserial").write_text("01\n")
    return conf


def _imprint(openssl: str, query: Path) -> bytes:
    """The hashed message of a TimeStampReq: its first OCTET STRING (inside messageImprint), via asn1parse."""
    done = subprocess.run([openssl, "asn1parse", "-inform", "DER", "-in", str(query)],
                          capture_output=True, text=True, timeout=30)
    found = re.search(r"prim: OCTET STRING\s+\[HEX DUMP\]:([0-9A-Fa-f]+)", done.stdout)
    if done.returncode != 0 or found is None:
        raise ValueError("not a timestamp query")
    return bytes.fromhex(found.group(1))


class LocalTsa:
    """The running local TSA: its URL, its root CA, a count of stamps served, and failure modes."""

    def __init__(self, openssl: str, folder: Path) -> None:
        """Make the PKI in folder and serve it on 127.0.0.1 (a free port) in a daemon thread."""
        self.openssl = openssl
        self.folder = folder
        self.conf = make_tsa_pki(openssl, folder)
        self.ca_path = folder / "ca.pem"
        self.ca_pem = self.ca_path.read_bytes()
        self.tsa_cert_pem = (folder / "tsa.pem").read_bytes()
        self.requests = 0  # TimeStampResp answers made by openssl (granted or, under refusing(), rejected)
        self.mode = "normal"
        self._lock = threading.Lock()  # openssl ts -reply updates the serial file: one reply at a time
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/tsa"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="local-tsa",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    @contextmanager
    def _in_mode(self, mode: str) -> Iterator[None]:
        """Serve in `mode` for the duration of the block."""
        self.mode = mode
        try:
            yield
        finally:
            self.mode = "normal"

    def down(self) -> AbstractContextManager[None]:
        """During the block every request is answered with HTTP 503 (the TSA being down)."""
        return self._in_mode("down")

    def wrong_hash(self) -> AbstractContextManager[None]:
        """During the block the TSA stamps sha256(b"other") instead of the message imprint it was sent."""
        return self._in_mode("wrong_hash")

    def garbage(self) -> AbstractContextManager[None]:
        """During the block the TSA answers 200 application/timestamp-reply with bytes that are no response."""
        return self._in_mode("garbage")

    def refusing(self) -> AbstractContextManager[None]:
        """During the block the TSA accepts only SHA-512 imprints: openssl answers a real rejection (status 2)."""
        return self._in_mode("refusing")

    def reply(self, query: bytes) -> bytes:
        """The DER TimeStampResp openssl makes for a DER TimeStampReq (ValueError if it is not one)."""
        with self._lock, tempfile.TemporaryDirectory(dir=self.folder) as work:
            tsq, tsr = Path(work) / "query.tsq", Path(work) / "reply.tsr"
            tsq.write_bytes(query)
            check = subprocess.run([self.openssl, "ts", "-query", "-config", str(self.conf), "-in", str(tsq), "-text"],
                                   capture_output=True, timeout=30)
            if check.returncode != 0:
                raise ValueError("the body is not a DER TimeStampReq")
            if self.mode == "wrong_hash":
                digest = _imprint(self.openssl, tsq)
                other = hashlib.new({32: "sha256", 48: "sha384", 64: "sha512"}.get(len(digest), "sha256"))
                other.update(OTHER_MESSAGE)
                tsq.write_bytes(query.replace(digest, other.digest(), 1))  # same length: the DER stays valid
            section = "tsa_refusing" if self.mode == "refusing" else "tsa_config"
            command = [self.openssl, "ts", "-reply", "-config", str(self.conf), "-section", section,
                       "-queryfile", str(tsq), "-out", str(tsr)]  # a full TimeStampResp, not -token_out
            done = subprocess.run(command, capture_output=True, text=True, timeout=30)
            if done.returncode != 0 or not tsr.exists():
                raise RuntimeError(f"openssl ts -reply failed: {done.stderr.strip()}")
            self.requests += 1
            return tsr.read_bytes()


def _handler(tsa: LocalTsa) -> type[BaseHTTPRequestHandler]:
    """The request handler class bound to tsa."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._answer(503 if tsa.mode == "down" else 400, b"POST a timestamp query\n")

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            query = self.rfile.read(min(length, MAX_QUERY))
            if tsa.mode == "down":
                self._answer(503, b"the time-stamp service is down\n")
                return
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if self.path != "/tsa" or content_type != "application/timestamp-query":
                self._answer(400, b"POST application/timestamp-query to /tsa\n")
                return
            if tsa.mode == "garbage":
                self._answer(200, b"\x30\x03garbage", "application/timestamp-reply")
                return
            try:
                reply = tsa.reply(query)
            except ValueError as e:
                self._answer(400, f"{e}\n".encode())
                return
            except RuntimeError as e:
                self._answer(500, f"{e}\n".encode())
                return
            self._answer(200, reply, "application/timestamp-reply")

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
            pass  # quiet: the tests' output is not the place for an access log

    return Handler


@pytest.fixture(scope="session")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTsa]:
    """One local TSA for the session (openssl ts behind HTTP on 127.0.0.1)."""
    server = LocalTsa(need_openssl(), tmp_path_factory.mktemp("tsa"))
    yield server
    server.stop()
