"""Browser-test support: the service under uvicorn on a free loopback port, a movable clock, Chromium.

The service runs in-process in a thread on a temporary SQLite database with the tiny day and the
test users loaded; `config.clock.now` is patched so a test can move the service's clock past an
evaluation's start. The system's Chromium is driven (never a downloaded one). Without
/usr/bin/chromium the tests are skipped, except under CI=true.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from api import schema
from api.migrate import stamp
from config import clock, db
from evaluation.importer import import_instance
from tests.api_support import BEFORE_START, seed_users
from tests.factories_instance import tiny_day

CHROMIUM = Path(os.environ.get("YIDI_TEST_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
SHOTS = Path(os.environ.get("YIDI_TEST_SCREENSHOTS", "/tmp"))


def launch_with_camera(pw: Any, video: Path, audio: Path) -> Any:
    """Headless Chromium whose fake camera and microphone play `video` and `audio`, allowed without asking."""
    return pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
        *LAUNCH_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        "--autoplay-policy=no-user-gesture-required",
        f"--use-file-for-fake-video-capture={video}", f"--use-file-for-fake-audio-capture={audio}"])


def need_chromium() -> None:
    """Skip without the system's Chromium, except under CI=true where its absence fails the test."""
    if CHROMIUM.exists():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"Chromium is required under CI=true: {CHROMIUM} is absent", pytrace=False)
    pytest.skip(f"no Chromium at {CHROMIUM}: the browser tests need the system's chromium package")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Clock:
    """The service's clock, movable by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        """The time the test set."""
        return self.at


@contextmanager
def serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, port: int | None = None,
          prepare: Callable[[Session], None] | None = None) -> Iterator[tuple[str, Clock]]:
    """The whole app served by uvicorn in a thread; yields its base URL and its clock.

    `prepare` runs on the loaded database before the app starts (e.g. to give experts addresses).
    """
    import uvicorn

    from api.main import create_app

    engine = db.make_engine(f"sqlite:///{tmp_path / 'e2e.db'}")
    schema.create_all(engine)
    stamp(engine)
    with Session(engine) as session:
        import_instance(session, tiny_day()[0])
        session.commit()
        seed_users(session)
        if prepare is not None:
            prepare(session)
            session.commit()
    moving = Clock(BEFORE_START)
    monkeypatch.setattr(db, "get_engine", lambda url=None: engine)
    monkeypatch.setattr("access.deps.get_engine", lambda url=None: engine)
    monkeypatch.setattr("api.main.get_engine", lambda url=None: engine)
    monkeypatch.setattr(clock, "now", moving.now)
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", moving
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        engine.dispose()
