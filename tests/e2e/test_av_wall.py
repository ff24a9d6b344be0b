"""The room camera page publishing with WHIP and the project's live wall watching with WHEP, in headless Chromium.

P1 is drawn with a seat in MAIN-R1 (term1's room). Chromium's fake camera and microphone play a
generated `.y4m` (a moving bar on a changing background) and a 1 kHz tone `.wav`. The service's
clock stands in P1's check-in window, so the schedule records MAIN-R1 (real hub, real recorder).

Page 1 (term1) opens `/terminal/stream` and publishes; page 2 (a supervisor) opens `/wall/projects/P1`:
the MAIN-R1 tile plays the room's video (decoded frames, advancing time), shows it is recorded, and
the counts only (the committee is sealed before the start). The ledger has `av.publish` and
`av.view`; leaving the wall ends its WHEP session; a supervisor of another site gets the 404 page.
"""

from __future__ import annotations

import asyncio
import re
import time
import wave
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from av_monitor import webrtc
from config import db
from config.settings import Settings
from ledger.models import LedgerEntry
from tests.api.test_terminal_pages import seat_in_main_r1
from tests.api_support import PASSWORD, app_client, bearer
from tests.e2e.support import SHOTS, launch_with_camera, need_chromium, serve

IN_CHECKIN_WINDOW = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)  # 08:30 local, P1 starts at 09:00
ROOM = "MAIN-R1"
SLOW = 60_000  # ms: ICE, DTLS and the first key frame on a busy 2-core machine


def fake_video(path: Path, *, width: int = 640, height: int = 480, fps: int = 15, frames: int = 45) -> Path:
    """A looping test picture: a white bar sweeping over a background whose colour changes every frame."""
    from tests.experts.face_support import write_y4m

    pictures = []
    for i in range(frames):
        rgb = np.zeros((height, width, 3), dtype=np.uint8)
        rgb[..., 0], rgb[..., 1], rgb[..., 2] = 40 + 4 * i, 90, 200 - 3 * i
        x = (i * width // frames)
        rgb[:, x:x + 40] = 255
        pictures.append(rgb)
    return write_y4m(pictures, path, fps=fps)


def tone(path: Path, *, hz: float = 1000.0, seconds: float = 2.0, rate: int = 48_000) -> Path:
    """A 16-bit mono WAV of a sine tone."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def kinds() -> list[str]:
    """The kinds of every ledger entry about the room."""
    with Session(db.get_engine()) as s:
        return list(s.exec(select(LedgerEntry.kind).where(LedgerEntry.subject == f"room:{ROOM}")).all())


def wait_for(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Poll `check` until it holds (False on timeout)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[webrtc.RoomHub]:
    """A hub recording on schedule into tmp_path, checking the schedule twice a second."""
    settings = Settings(recording_directory=tmp_path / "recordings", recording_schedule_interval_seconds=0.5)
    made = webrtc.RoomHub(settings=settings)
    monkeypatch.setattr(webrtc, "_hub", made)
    yield made
    if made.loop is not None and made.loop.is_running():
        asyncio.run_coroutine_threadsafe(webrtc.shutdown(), made.loop).result(30)


def test_the_room_camera_page_publishes_and_the_wall_plays_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            hub: webrtc.RoomHub) -> None:
    from playwright.sync_api import expect, sync_playwright

    need_chromium()
    video, audio = fake_video(tmp_path / "camera.y4m"), tone(tmp_path / "tone.wav")
    with serve(tmp_path, monkeypatch, prepare=lambda s: None if seat_in_main_r1(s) else None) as (base, moving), \
            sync_playwright() as pw:
        moving.at = IN_CHECKIN_WINDOW
        browser = launch_with_camera(pw, video, audio)
        try:
            camera = browser.new_context(viewport={"width": 1100, "height": 1000}).new_page()
            log_in(camera, base, "term1")
            camera.goto(f"{base}/terminal/stream")
            expect(camera.locator("#stream-state")).to_have_text("正在推流", timeout=SLOW)
            assert wait_for(lambda: hub.state(ROOM).publishing)
            assert wait_for(lambda: hub.state(ROOM).recording), "P1's check-in window: MAIN-R1 is recorded"
            camera.screenshot(path=str(SHOTS / "yidi-av-camera.png"), full_page=True)

            wall = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
            log_in(wall, base, "super")
            wall.goto(f"{base}/wall/projects/P1")
            tile = wall.locator(f".wall-tile[data-room='{ROOM}']")
            expect(tile).to_be_visible()
            expect(wall.locator("#wall-sealed")).to_contain_text("P1")
            player = tile.locator("video")
            wall.wait_for_function("v => v.readyState >= 2 && v.videoWidth > 0", arg=player.element_handle(),
                                   timeout=SLOW)
            first = player.evaluate("v => v.currentTime")
            wall.wait_for_timeout(1500)
            assert player.evaluate("v => v.currentTime") > first, "the room's video plays on"
            # A tile shows the camera page's low layer (320x240, forwarded: no thumbnail encode in the
            # service); "full quality" shows the camera's 640x480.
            assert player.evaluate("v => [v.videoWidth, v.videoHeight]") == [320, 240]
            room = hub.rooms[ROOM]
            assert room.thumbs is None and len(room.fanouts["thumb"].subscribers) == 1
            tile.locator(".quality").click()
            expect(tile.locator(".quality")).to_have_text("缩略画面")
            wall.wait_for_function("v => v.videoWidth === 640 && v.readyState >= 2", arg=player.element_handle(),
                                   timeout=SLOW)
            assert wait_for(lambda: not room.fanouts["thumb"].subscribers), "no tile shows the low layer any more"
            tile.locator(".quality").click()
            wall.wait_for_function("v => v.videoWidth === 320 && v.readyState >= 2", arg=player.element_handle(),
                                   timeout=SLOW)
            assert player.evaluate("v => v.muted") is True, "muted until clicked"
            expect(tile.locator(".stream-state")).to_have_text("直播中", timeout=15_000)
            expect(tile.locator(".rec")).to_be_visible()
            expect(tile.locator("tr[data-project=P1] .counts")).to_have_text(re.compile(r"^签到 0/[1-9] · 签署 0$"))
            tile.locator(".unmute").click()
            assert player.evaluate("v => v.muted") is False
            expect(tile.locator(".unmute")).to_have_text("静音")
            # A room of P1 that nobody publishes from waits, and says so.
            other = wall.locator(f".wall-tile:not([data-room='{ROOM}'])").first
            expect(other.locator(".stream-state")).to_have_text("会议室尚未推流，稍后自动重试", timeout=15_000)
            wall.screenshot(path=str(SHOTS / "yidi-av-wall.png"), full_page=True)

            assert wait_for(lambda: {"av.publish", "av.view"} <= set(kinds())), kinds()
            assert hub.state(ROOM).viewers == 1
            wall.goto(f"{base}/wall/sites/MAIN?day=2026-11-23")
            expect(wall.locator(f".wall-tile[data-room='{ROOM}']")).to_be_visible()
            assert wait_for(lambda: hub.state(ROOM).viewers == 1), "leaving ended the old WHEP session"
            wall.wait_for_function("v => v.readyState >= 2 && v.videoWidth > 0",
                                   arg=wall.locator(f".wall-tile[data-room='{ROOM}'] video").element_handle(),
                                   timeout=SLOW)
            wall.screenshot(path=str(SHOTS / "yidi-av-wall-site.png"), full_page=True)
            wall.goto("about:blank")
            assert wait_for(lambda: hub.state(ROOM).viewers == 0), "leaving the wall ends its WHEP session"

            outsider = browser.new_context().new_page()
            log_in(outsider, base, "super_off")
            response = outsider.goto(f"{base}/wall/projects/P1")
            assert response is not None and response.status == 404

            # The server ends the publisher's session: the page reconnects on its own (with backoff).
            old = hub.state(ROOM).publisher_session
            assert old is not None and hub.loop is not None
            asyncio.run_coroutine_threadsafe(hub.unpublish(ROOM, old), hub.loop).result(10)
            assert wait_for(lambda: hub.state(ROOM).publisher_session not in (None, old), timeout=60), \
                "the camera page published again"
            expect(camera.locator("#stream-state")).to_have_text("正在推流", timeout=SLOW)

            camera.click("#stream-stop")
            expect(camera.locator("#stream-state")).to_have_text("已停止")
            assert wait_for(lambda: not hub.state(ROOM).publishing)
            assert wait_for(lambda: "av.unpublish" in kinds())
        finally:
            browser.close()


def denied(engine: Engine) -> int:
    """How many refusals the ledger holds."""
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(LedgerEntry)
                          .where(LedgerEntry.kind == "auth.denied")).one())


def test_the_pages_hold_roles_scope_and_the_seal(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a browser: who gets which page, out of scope a ledgered 404, no names before the start."""
    with app_client(engine, monkeypatch) as c:
        c.post("/api/draws", json={"project_codes": ["P1"], "seed": "5eed"}, headers=bearer(c, "admin"))

        def as_user(user: str | None) -> None:
            c.cookies.clear()
            if user is not None:
                token = c.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
                c.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": token})

        as_user(None)
        for url in ("/terminal/stream", "/wall/projects/P1", "/wall/sites/MAIN"):
            r = c.get(url, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), url
        as_user("term1")
        page = c.get("/terminal/stream")
        assert page.status_code == 200 and 'data-whip="/api/rooms/MAIN-R1/whip"' in page.text
        assert "会议室摄像 MAIN-R1" in page.text
        before = denied(engine)
        assert c.get("/wall/projects/P1").status_code == 403 and denied(engine) == before + 1
        as_user("super")
        before = denied(engine)
        assert c.get("/terminal/stream").status_code == 403 and denied(engine) == before + 1
        wall = c.get("/wall/projects/P1")
        assert wall.status_code == 200
        rooms = re.findall(r'class="card wall-tile" data-room="([^"]+)" data-viewable="true"', wall.text)
        assert rooms and rooms[0].startswith("MAIN-") and {r.split("-")[0] for r in rooms} >= {"MAIN", "AUXA"}
        assert 'id="wall-sealed"' in wall.text and not re.search(r"\bE\d{2,}\b", wall.text), "counts only"
        site = c.get("/wall/sites/MAIN?day=2026-11-23&lang=en")
        assert site.status_code == 200 and "Live wall of site MAIN (2026-11-23)" in site.text
        assert set(re.findall(r'data-room="([^"]+)"', site.text)) == {r for r in rooms if r.startswith("MAIN-")}
        assert 'id="wall-none"' in c.get("/wall/sites/MAIN?day=2026-11-24").text
        assert c.get("/wall/sites/MAIN?day=not-a-day").status_code == 422
        assert c.get("/wall/projects/NOPE").status_code == 404
        for user in ("super_off", "coord_off"):
            as_user(user)
            for url in ("/wall/projects/P1", "/wall/sites/MAIN"):
                before = denied(engine)
                assert c.get(url).status_code == 404 and denied(engine) == before + 1, (user, url)
        as_user("coord_auxa")  # P1 is readable (auxiliary site); rooms outside the scope are shown, not played
        wall = c.get("/wall/projects/P1")
        assert wall.status_code == 200
        assert re.search(r'data-room="MAIN-[^"]+" data-viewable="false"', wall.text)
        assert re.search(r'data-room="AUXA-[^"]+" data-viewable="true"', wall.text)
