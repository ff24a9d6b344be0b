"""A public bid opening in headless Chromium: the room's camera page publishes, a visitor with no login watches.

MAIN-R1 is made a bid-opening room with an opening on now (the service's clock). Page 1 (term1)
publishes Chromium's fake camera over WHIP; page 2, in a context that never logged in, opens the
opening's watch link and plays the room (decoded frames, advancing time). The hub counts one public
viewer, records the room on schedule (the opening is on record like an evaluation) and the opening's
row counts the view; once the link is revoked the visitor is disconnected and the page says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from av_monitor import public, webrtc
from config import db
from config.settings import Settings
from openings import service
from openings.models import PublicOpening
from tests.api_support import BEFORE_START
from tests.e2e.support import SHOTS, launch_with_camera, need_chromium, serve
from tests.e2e.test_av_wall import SLOW, fake_video, log_in, tone, wait_for
from venues.models import Room

ROOM = "MAIN-R1"
TOKEN = "watch-" + "w" * 26


def _opening_now(session: Session) -> None:
    service.set_room_purpose(session, room_code=ROOM, purpose="opening", actor="test", now=BEFORE_START)
    room = session.exec(select(Room).where(Room.code == ROOM)).one()
    assert room.id is not None
    session.add(PublicOpening(room_id=room.id, title="某道路工程开标", start=BEFORE_START + timedelta(minutes=5),
                              end=BEFORE_START + timedelta(hours=2), token=TOKEN, created_by="test"))


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[webrtc.RoomHub]:
    """A hub recording on schedule, checking it twice a second; public links checked every 0.5 s."""
    monkeypatch.setattr(public, "SWEEP_SECONDS", 0.5)
    made = webrtc.RoomHub(settings=Settings(recording_directory=tmp_path / "recordings",
                                            recording_schedule_interval_seconds=0.5))
    monkeypatch.setattr(webrtc, "_hub", made)
    yield made
    if made.loop is not None and made.loop.is_running():
        asyncio.run_coroutine_threadsafe(webrtc.shutdown(), made.loop).result(30)


def test_a_visitor_without_login_watches_the_opening(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     hub: webrtc.RoomHub) -> None:
    from playwright.sync_api import expect, sync_playwright

    need_chromium()
    video, audio = fake_video(tmp_path / "camera.y4m"), tone(tmp_path / "tone.wav")
    with serve(tmp_path, monkeypatch, prepare=_opening_now) as (base, _), sync_playwright() as pw:
        browser = launch_with_camera(pw, video, audio)
        try:
            camera = browser.new_context().new_page()
            log_in(camera, base, "term1")
            camera.goto(f"{base}/terminal/stream")
            expect(camera.locator("#stream-state")).to_have_text("正在推流", timeout=SLOW)
            assert wait_for(lambda: hub.state(ROOM).publishing)
            assert wait_for(lambda: hub.state(ROOM).recording), "the opening's room is recorded on schedule"

            visitor = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
            visitor.goto(f"{base}/watch/{TOKEN}")
            expect(visitor.locator("h1")).to_have_text("某道路工程开标")
            player = visitor.locator("#watch video")
            visitor.wait_for_function("v => v.readyState >= 2 && v.videoWidth === 640", arg=player.element_handle(),
                                      timeout=SLOW)
            first = player.evaluate("v => v.currentTime")
            visitor.wait_for_timeout(1500)
            assert player.evaluate("v => v.currentTime") > first, "the opening plays on"
            expect(visitor.locator(".watch-state")).to_have_text("直播中", timeout=15_000)
            assert hub.state(ROOM).public_viewers == 1 and hub.state(ROOM).viewers == 1
            assert "MAIN-R1" not in visitor.content(), "the public page shows nothing of the room itself"
            visitor.screenshot(path=str(SHOTS / "yidi-public-watch.png"), full_page=True)
            with Session(db.get_engine()) as s:
                opening = s.exec(select(PublicOpening)).one()
                assert (opening.views, opening.peak_viewers) == (1, 1)
                service.revoke_opening(s, opening=opening, actor="test", now=BEFORE_START)
                s.commit()
            assert wait_for(lambda: hub.state(ROOM).public_viewers == 0, timeout=15), "revoked: disconnected"
            expect(visitor.locator(".watch-state")).to_have_text("链接无效或已撤销", timeout=SLOW)
        finally:
            browser.close()
