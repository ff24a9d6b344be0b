"""Recorded playback in a real browser: Chromium's own <video> plays and seeks a run; the timeline and verify work.

A real two-run recording is made by `RoomRecorder` from generated media (tests/av_monitor/
test_recordings.make_recording), ledgered as the hub does, and served by the app under uvicorn
(tests/e2e/support.py). No JavaScript player is involved: the run MP4 is served with HTTP ranges.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from av_monitor import service
from av_monitor.recorder import SegmentInfo
from config.settings import get_settings
from tests.api_support import PASSWORD
from tests.av_monitor.recording_support import ROOM, ledger_segments, make_recording
from tests.e2e.support import CHROMIUM, LAUNCH_ARGS, SHOTS, need_chromium, serve

# Every wait is bounded: page.evaluate itself has no timeout.
SEEK = """async ([id, t]) => {
  const v = document.getElementById(id);
  const on = (name) => new Promise((ok, fail) => {
    v.addEventListener(name, ok, {once: true});
    setTimeout(() => fail(new Error(name + ' not fired; readyState ' + v.readyState + ', error ' +
                                    (v.error && v.error.code))), 15000);
  });
  if (v.readyState < 1) await on('loadedmetadata');
  const seeked = on('seeked');
  v.currentTime = t;
  await seeked;
  if (v.readyState < 2) await on('canplay');
  return [v.currentTime, v.readyState, v.duration, v.error && v.error.code];
}"""


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str, list[SegmentInfo]]]:
    """The app with one recording of MAIN-R1 on disk and in the ledger, plus a stream alert in its first run."""
    need_chromium()
    made = tmp_path / "made"
    recording_id, infos = make_recording(made)
    shutil.copytree(made / recording_id, tmp_path / "recordings" / ROOM / recording_id)
    monkeypatch.setenv("YIDI_RECORDING_DIRECTORY", str(tmp_path / "recordings"))
    get_settings.cache_clear()

    def prepare(session: Session) -> None:
        ledger_segments(session, infos)
        service.log_alert(session, room_code=ROOM, reason="stream stopped", session_id=None, seconds=3.0,
                          at=infos[1].started_at + timedelta(seconds=0.5))

    try:
        with serve(tmp_path, monkeypatch, prepare=prepare) as (base, _):
            yield base, recording_id, infos
    finally:
        get_settings.cache_clear()


def test_browser_plays_seeks_and_verifies_a_recording(served: tuple[str, str, list[SegmentInfo]]) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, rid, infos = served
    url = f"{base}/recordings/{ROOM}/{rid}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(url)
            page.fill("input[name=username]", "super")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page).to_have_url(url)
            expect(page.locator("h1")).to_have_text("录像回放")
            assert page.evaluate("document.createElement('video').canPlayType('video/mp4; codecs=\"avc1.64001f\"')")

            # Native seeking inside the run: Chromium fetches the byte ranges it needs.
            current, ready, duration, error = page.evaluate(SEEK, ["run-0", 2.5])
            run0 = sum(i.duration for i in infos if i.init_path == infos[0].init_path)
            assert error is None and duration == pytest.approx(run0, abs=0.3)
            assert current == pytest.approx(2.5, abs=0.05) and ready >= 2
            played = page.evaluate("""async () => {
              const v = document.getElementById('run-0'); v.muted = true; const from = v.currentTime;
              await Promise.race([v.play(), new Promise(r => setTimeout(r, 5000))]);
              await new Promise(r => setTimeout(r, 600)); v.pause(); return v.currentTime - from; }""")
            assert played > 0.2

            # The alert on the timeline seeks run 0 to its moment; the gap seeks the start of run 1.
            alert = page.locator("#timeline li[data-kind='av.alert'] a")
            target = float(alert.get_attribute("data-seek-at") or "nan")
            assert target == pytest.approx(infos[0].duration + 0.5, abs=0.01)
            alert.click()
            page.wait_for_function(f"Math.abs(document.getElementById('run-0').currentTime - {target}) < 0.05 "
                                   "&& !document.getElementById('run-0').seeking", timeout=15_000)
            page.locator("#timeline li[data-kind='gap'] a").click()
            assert page.evaluate("document.getElementById('run-1').currentTime") == 0

            page.click("#verify-button")
            expect(page.locator("#verify-result")).to_have_class("ok")
            expect(page.locator("#verify-result")).to_contain_text(f"{len(infos)} 个片段与账本一致")
            page.screenshot(path=str(SHOTS / "yidi-playback.png"), full_page=True)
        finally:
            browser.close()
