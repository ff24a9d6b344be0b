"""The operation log page in a real browser: filter, verify the chain, download the evidence zip.

See `tests/e2e/support.py` for the set-up (temporary SQLite, tiny day, patched clock, system Chromium).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session

from evaluation import service as draw_service
from tests.api_support import PASSWORD
from tests.e2e.support import CHROMIUM, LAUNCH_ARGS, SHOTS, Clock, need_chromium, serve

EXPERT_CODE = re.compile(r"\bE(0[1-9]|1[0-5])\b")


def _draw(session: Session) -> None:
    draw_service.draw(session, project_codes=["P1"], seed_hex="5eed", actor="user:coord")


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Clock]]:
    """The app with P1 drawn (sealed: the clock stands before its start)."""
    need_chromium()
    with serve(tmp_path, monkeypatch, prepare=_draw) as running:
        yield running


def test_supervisor_filters_verifies_and_exports(service: tuple[str, Clock], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, _ = service
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{base}/audit")
            page.fill("input[name=username]", "super")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page).to_have_url(f"{base}/audit")
            expect(page.locator("h1")).to_have_text("操作日志")

            page.fill("#audit-filters input[name=project]", "P1")
            page.fill("#audit-filters input[name=kind]", "draw.")
            page.click("#audit-filters button[type=submit]")
            expect(page).to_have_url(re.compile(r"/audit\?project=P1&.*kind=draw\."))
            kinds = page.locator("#audit-entries tbody tr td:nth-child(4)").all_inner_texts()
            assert kinds == ["draw.commit", "draw.result"]
            assert not EXPERT_CODE.search(page.inner_text("body"))  # sealed before the start (D5)

            page.click("#audit-verify button[type=submit]")
            expect(page.locator("#head-hash")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
            expect(page).to_have_url(re.compile(r"/audit\?project=P1"))  # back on the same filters
            page.screenshot(path=str(SHOTS / "yidi-e2e-audit.png"), full_page=True)

            with page.expect_download() as info:
                page.click("#audit-evidence a")
            saved = tmp_path / "evidence.zip"
            info.value.save_as(saved)
            with zipfile.ZipFile(io.BytesIO(saved.read_bytes())) as zf:
                manifest = json.loads(zf.read("manifest.json"))
                assert manifest["project"] == "P1" and manifest["exported_by"] == "user:super"
                assert not any(n.endswith("result.json") for n in zf.namelist())
        finally:
            browser.close()
