"""The console in a real browser: headless Chromium (playwright) against the service run by uvicorn.

The service runs in-process in a thread on a free 127.0.0.1 port, on a temporary SQLite database
with the tiny day and the test users loaded; `config.clock.now` is patched so the test can move
the service's clock past the evaluation's start. The system's Chromium is driven (never a
downloaded one). Without /usr/bin/chromium the tests are skipped, except under CI=true.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from config import clock, db
from config.migrate import stamp
from scheduler.importer import import_instance
from tests.api_support import AFTER_START, BEFORE_START, PASSWORD, seed_users
from tests.factories_instance import tiny_day

CHROMIUM = Path(os.environ.get("YIDI_TEST_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
EXPERT_CODE = re.compile(r"\bE(0[1-9]|1[0-5])\b")
SHOTS = Path(os.environ.get("YIDI_TEST_SCREENSHOTS", "/tmp"))


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"Chromium is required under CI=true: {CHROMIUM} is absent", pytrace=False)
    pytest.skip(f"no Chromium at {CHROMIUM}: the browser tests need the system's chromium package")


def _free_port() -> int:
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


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Clock]]:
    """The whole app served by uvicorn in a thread; yields its base URL and its clock."""
    import uvicorn

    from api.main import create_app

    engine = db.make_engine(f"sqlite:///{tmp_path / 'e2e.db'}")
    db.create_all(engine)
    stamp(engine)
    with Session(engine) as session:
        import_instance(session, tiny_day()[0])
        session.commit()
        seed_users(session)
    moving = Clock(BEFORE_START)
    monkeypatch.setattr(db, "get_engine", lambda url=None: engine)
    monkeypatch.setattr("api.deps.get_engine", lambda url=None: engine)
    monkeypatch.setattr("api.main.get_engine", lambda url=None: engine)
    monkeypatch.setattr(clock, "now", moving.now)
    port = _free_port()
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


def _visible_text(page: object) -> str:
    return page.inner_text("body")  # type: ignore[attr-defined, no-any-return]


def test_coordinator_draws_sealed_then_unseals(service: tuple[str, Clock]) -> None:
    _need_chromium()
    from playwright.sync_api import expect, sync_playwright

    base, moving = service
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/calendar?month=2026-11")
            expect(page).to_have_url(re.compile(r"/login\?next="))
            page.fill("input[name=username]", "coord")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page).to_have_url(f"{base}/calendar?month=2026-11")
            expect(page.locator("h1")).to_contain_text("2026年11月")
            page.screenshot(path=str(SHOTS / "yidi-e2e-calendar.png"), full_page=True)

            page.click("a.event:has-text('P1')")
            expect(page).to_have_url(f"{base}/projects/P1")
            page.click("#prepare-draw")
            commitment = page.locator("#commitment")
            expect(commitment).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
            expect(page.locator("#seat-counts")).to_have_count(0)  # nothing drawn before the commitment is shown
            seed_sha = commitment.inner_text()

            page.click("#run-draw")
            expect(page.locator("#seat-counts")).to_be_visible()
            expect(page.locator("#result-hash")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
            assert seed_sha in _visible_text(page)
            assert not EXPERT_CODE.search(page.content().replace(page.locator("input[name=csrf_token]").first
                                                                 .get_attribute("value") or "", ""))
            counts = page.locator("#seat-counts tbody td:nth-child(2)").all_inner_texts()
            assert sum(int(n) for n in counts) == 4  # the tiny project seats 4 experts (size 5, 1 representative)
            page.screenshot(path=str(SHOTS / "yidi-e2e-sealed.png"), full_page=True)

            moving.at = AFTER_START
            page.reload()
            page.click("#unseal")
            committee = page.locator("#committee")
            expect(committee).to_be_visible()
            codes = set(EXPERT_CODE.findall(committee.inner_text()))
            assert len(codes) == 4
            page.screenshot(path=str(SHOTS / "yidi-e2e-committee.png"), full_page=True)

            # The seat map names the unsealed committee's members in their rooms; the dashboard draws SVG bars.
            page.goto(f"{base}/rooms/day?site=AUXA&date=2026-11-23")
            taken = page.locator(".seat.taken").all_inner_texts()
            assert taken and all(EXPERT_CODE.search(text) for text in taken)
            page.screenshot(path=str(SHOTS / "yidi-e2e-rooms.png"), full_page=True)
            page.goto(f"{base}/stats?start=2026-11-01&end=2027-01-01&lang=en")
            expect(page.locator("#chart-period rect")).to_have_count(2)
            page.screenshot(path=str(SHOTS / "yidi-e2e-stats.png"), full_page=True)
        finally:
            browser.close()
