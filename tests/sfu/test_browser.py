"""Chromium through the SFU: the room's camera page publishes to Janus, the project's wall plays it from Janus.

The service runs in-process with the SFU back end on the session's Janus. Chromium's offers number
H.264 its own way (107 is one of its rtx types, Janus's default H.264 type): the wall tile plays the
room (decoded frames, advancing time) because the mountpoint takes the viewer's payload types.
The tile first shows the camera page's low layer, and the full picture on "full quality".
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from av_monitor import webrtc
from av_monitor.sfu_hub import SfuHub
from config.settings import Settings
from sfu.janus_conf import JanusProcess
from tests.e2e.support import launch_with_camera, need_chromium, serve
from tests.e2e.test_av_wall import IN_CHECKIN_WINDOW, ROOM, SLOW, fake_video, log_in, seat_in_main_r1, tone, wait_for
from tests.sfu_fixtures import ADMIN_KEY


@pytest.fixture
def hub(janus: JanusProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[SfuHub]:
    made = SfuHub(settings=Settings(av_backend="janus", sfu_janus_url=janus.url, sfu_admin_key=ADMIN_KEY,
                                    sfu_keepalive_seconds=2))
    monkeypatch.setattr(webrtc, "_hub", made)
    loop = asyncio.new_event_loop()
    yield made
    loop.close()


def test_chromium_publishes_to_janus_and_the_wall_plays_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          hub: SfuHub) -> None:
    from playwright.sync_api import expect, sync_playwright

    need_chromium()
    video, audio = fake_video(tmp_path / "camera.y4m"), tone(tmp_path / "tone.wav")
    with serve(tmp_path, monkeypatch, prepare=lambda s: None if seat_in_main_r1(s) else None) as (base, moving), \
            sync_playwright() as pw:
        moving.at = IN_CHECKIN_WINDOW
        browser = launch_with_camera(pw, video, audio)
        try:
            camera = browser.new_context().new_page()
            log_in(camera, base, "term1")
            camera.goto(f"{base}/terminal/stream")
            expect(camera.locator("#stream-state")).to_have_text("正在推流", timeout=SLOW)
            assert wait_for(lambda: hub.state(ROOM).publishing)

            wall = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
            log_in(wall, base, "super")
            wall.goto(f"{base}/wall/projects/P1")
            tile = wall.locator(f".wall-tile[data-room='{ROOM}']")
            player = tile.locator("video")
            wall.wait_for_function("v => v.readyState >= 2 && v.videoWidth > 0", arg=player.element_handle(),
                                   timeout=SLOW)
            first = player.evaluate("v => v.currentTime")
            wall.wait_for_timeout(1500)
            assert player.evaluate("v => v.currentTime") > first, "the room's video plays on"
            assert player.evaluate("v => [v.videoWidth, v.videoHeight]") == [320, 240], "the low layer first"
            assert hub.state(ROOM).viewers == 1
            tile.locator(".quality").click()
            wall.wait_for_function("v => v.videoWidth === 640 && v.readyState >= 2", arg=player.element_handle(),
                                   timeout=SLOW)
            second = player.evaluate("v => v.currentTime")
            wall.wait_for_timeout(1500)
            assert player.evaluate("v => v.currentTime") > second, "the full picture plays on"
            wall.goto("about:blank")
            assert wait_for(lambda: hub.state(ROOM).viewers == 0), "leaving the wall ends its session"
        finally:
            browser.close()
