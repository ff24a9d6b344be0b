"""A real Janus for the tests that need one: Debian's janus, started from a configuration sfu.janus_conf writes.

Without the janus executable the tests are skipped, except under CI=true, where its absence fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from sfu.janus_conf import JanusProcess, janus_binary
from tests.e2e.support import free_port

ADMIN_KEY = "test-admin-key"
SESSION_TIMEOUT = 8  # short, so the kill -9 test shows that another process keeps the sessions alive


def need_janus() -> None:
    """Skip without Janus, except under CI=true where its absence fails the test."""
    if janus_binary() is not None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("Janus is required under CI=true: apt-get install janus", pytrace=False)
    pytest.skip("Janus is not installed (Debian: apt-get install janus janus-tools)")


@pytest.fixture(scope="session")
def janus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JanusProcess]:
    """One Janus for the session (rooms and mountpoints are per test: rooms are per product room)."""
    need_janus()
    folder = tmp_path_factory.mktemp("janus")
    base = 20000 + (os.getpid() % 40) * 1000  # separate RTP ranges for runs side by side
    server = JanusProcess(folder / "conf", http_port=free_port(), log=folder / "janus.log", admin_key=ADMIN_KEY,
                          session_timeout=SESSION_TIMEOUT, rtp_ports=(base, base + 999), no_media_seconds=2)
    server.start()
    yield server
    server.stop()


def sfu_env(server: JanusProcess, **more: str) -> dict[str, str]:
    """The service environment of the SFU back end on `server`."""
    return {"YIDI_AV_BACKEND": "janus", "YIDI_SFU_JANUS_URL": server.url, "YIDI_SFU_ADMIN_KEY": ADMIN_KEY,
            "YIDI_SFU_KEEPALIVE_SECONDS": "2", **more}
