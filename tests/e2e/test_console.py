"""The console in a real browser: headless Chromium (playwright) against the service run by uvicorn.

See `tests/e2e/support.py` for the set-up (temporary SQLite, tiny day, patched clock, system Chromium).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api_support import AFTER_START, PASSWORD
from tests.e2e.support import CHROMIUM, LAUNCH_ARGS, SHOTS, Clock, serve
from tests.e2e.support import need_chromium as _need_chromium

EXPERT_CODE = re.compile(r"\bE(0[1-9]|1[0-5])\b")


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Clock]]:
    """The whole app served by uvicorn in a thread; yields its base URL and its clock."""
    with serve(tmp_path, monkeypatch) as running:
        yield running


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


def _finished_import(session: object) -> None:
    from operations.models import Operation

    session.add(Operation(kind="expert_import", status="done", total=10, done=10,  # type: ignore[attr-defined]
                          created_by="user:coord"))


def test_closure_rooms_follow_the_site_and_progress_speaks_chinese(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _need_chromium()
    from playwright.sync_api import expect, sync_playwright

    with serve(tmp_path, monkeypatch, prepare=_finished_import) as (base, _clock), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{base}/login")
            page.fill("input[name=username]", "coord")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.goto(f"{base}/closures")
            offered = "select[name=room_code] optgroup:not([disabled]) option"
            page.select_option("select[name=site_code]", "AUXA")
            rooms = page.locator(offered).all_inner_texts()
            assert rooms and all(r.startswith("AUXA-") for r in rooms)
            page.select_option("select[name=room_code]", rooms[0])
            page.select_option("select[name=site_code]", "MAIN")
            rooms = page.locator(offered).all_inner_texts()
            assert rooms and all(r.startswith("MAIN-") for r in rooms)
            assert page.locator("select[name=room_code]").input_value() == ""  # the other site's room is dropped
            # The progress script words the operation's status in the page's language.
            page.goto(f"{base}/experts?operation=1")
            expect(page.locator(".progress-label")).to_have_text("已完成 100%")
            page.goto(f"{base}/experts?operation=1&lang=en")
            expect(page.locator(".progress-label")).to_have_text("done 100%")
        finally:
            browser.close()
