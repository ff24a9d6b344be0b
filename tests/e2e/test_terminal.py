"""The check-in kiosk in headless Chromium, its camera faked from a `.y4m` made from a test photo.

P1 is drawn with a seat in MAIN-R1 (term1's room); that seat's expert gets an ID number and a face
enrolled from obama_1.jpg. The expert types the ID number and Enter, as an ID-card reader does.

(a) The camera shows one other photo of the same person, still: the page captures and sends the
    frames, the service refuses them as not live, the page says so and nobody is checked in.
(b) The camera shows a synthetic head turn (from a third photo) in the asked direction: the expert
    is checked in, the kiosk names them, and the supervisor's room page, open meanwhile, counts the
    check-in on its own refresh. Frames reach the server unmirrored, else the turn would be judged
    the wrong way. After the start the expert signs off the uploaded report, its hash shown in full.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlmodel import Session, col, select

from checkin import reports
from checkin.models import Checkin, CheckinAttempt
from config import db
from evaluation.models import Project
from experts import enrolment
from experts.models import Expert
from tests.api.test_terminal_pages import seat_in_main_r1
from tests.api_support import AFTER_START, PASSWORD
from tests.e2e.support import CHROMIUM, LAUNCH_ARGS, SHOTS, Clock, need_chromium, serve

IN_CHECKIN_WINDOW = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)  # 08:30 local, P1 starts at 09:00
ID_NUMBER = "11010119700501001X"
ENROLLED, STILL, TURNING = "obama_1.jpg", "obama_2.jpg", "obama_4.jpg"
FPS = 10
# The page captures 16 frames 250 ms apart (about 3.75 s) wherever the looping video happens to be:
# a loop longer than that never yields one video frame twice, and holds frontal and turned views
# long enough that every window of the capture sees both.
HOLD_FRONTAL, RAMP, HOLD_TURNED = 14, 8, 14
SLOW = 90_000  # ms: camera start, 4 s of capture, then face detection on a 2-core machine


def _faces() -> Path:
    from tests.experts.face_support import skip_without_faces

    folder = skip_without_faces()
    missing = [n for n in (ENROLLED, STILL, TURNING) if not (folder / n).is_file()]
    if missing:
        pytest.skip(f"shared face photos {missing} absent from {folder}")
    return folder


def _still_video(photo: Path, path: Path) -> Path:
    from tests.experts.face_support import camera_frame, load_rgb, write_y4m

    frame = camera_frame(load_rgb(photo))
    return write_y4m([frame] * FPS, path, fps=FPS)


def _turn_video(photo: Path, path: Path, direction: str) -> Path:
    """A looping head turn: frontal, turn, hold, turn back; each frame a little brighter or darker than the rest.

    The photo's own slight turn is first undone (so the still part is frontal). A real camera's
    frames always differ (sensor noise, auto-exposure); the distinct brightness of each frame stands
    in for that, so the liveness check's repeated-frame test sees a live camera and not a loop.
    """
    from checkin import liveness
    from tests.experts.face_support import camera_frame, head_turn_frames, load_rgb, shift_nose, write_y4m

    frame = camera_frame(load_rgb(photo))
    # Undo the photo's own yaw: a shift of t eye distances moves the yaw index by about 0.8 t.
    frame = shift_nose(frame, -liveness.observe(frame)[0].yaw / 0.8)
    turn = head_turn_frames(frame, direction=direction, n=RAMP + 1, max_turn=0.4, frontal_share=0.0001)  # type: ignore[arg-type]
    ramp, turned = turn[:-1], turn[-1]
    loop = [turn[0]] * HOLD_FRONTAL + ramp + [turned] * HOLD_TURNED + ramp[::-1]
    order = np.random.default_rng(7).permutation(len(loop))
    frames = []
    for frame_, rank in zip(loop, order, strict=True):
        shifted = frame_.astype(np.int16) + int(rank) * 2 - len(loop)
        frames.append(np.clip(shifted, 0, 255).astype(np.uint8))
    return write_y4m(frames, path, fps=FPS)


def _browser(pw: Any, video: Path) -> Any:
    return pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
        *LAUNCH_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


@pytest.fixture
def kiosk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Clock, dict[str, str], Path]]:
    """The service with an expert seated in MAIN-R1, ID number set, face enrolled; yields base, clock, expert, faces."""
    need_chromium()
    faces = _faces()
    seated: dict[str, str] = {}

    def prepare(session: Session) -> None:
        code = seat_in_main_r1(session)
        expert = session.exec(select(Expert).where(Expert.code == code)).one()
        expert.id_number = ID_NUMBER
        session.add(expert)
        session.flush()
        enrolment.enrol(session, expert_code=code, images=[(faces / ENROLLED).read_bytes()], consent=True,
                        actor="test", now=IN_CHECKIN_WINDOW)
        seated.update(code=code, name=expert.name)

    with serve(tmp_path, monkeypatch, prepare=prepare) as (base, moving):
        moving.at = IN_CHECKIN_WINDOW
        yield base, moving, seated, faces


def _attempts() -> list[str]:
    with Session(db.get_engine()) as s:
        return list(s.exec(select(CheckinAttempt.outcome).order_by(col(CheckinAttempt.id))).all())


def _upload_report(content: bytes) -> str:
    with Session(db.get_engine()) as s:
        project = s.exec(select(Project).where(Project.code == "P1")).one()
        report = reports.upload(s, project=project, filename="report.pdf", content=content, actor="user:coord",
                                now=AFTER_START)
        s.commit()
        return report.sha256


def _checkins() -> int:
    with Session(db.get_engine()) as s:
        return len(s.exec(select(Checkin)).all())


def test_a_still_photo_fails_and_a_head_turn_checks_in(kiosk: tuple[str, Clock, dict[str, str], Path],
                                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, moving, seated, faces = kiosk
    monkeypatch.setattr("checkin.liveness.choose_direction", lambda: "left")
    still = _still_video(faces / STILL, tmp_path / "still.y4m")
    turning = _turn_video(faces / TURNING, tmp_path / "turn-left.y4m", "left")
    with sync_playwright() as pw:
        browser = _browser(pw, still)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            _log_in(page, base, "term1")
            expect(page).to_have_url(f"{base}/terminal")
            expect(page.locator("#projects [data-project=P1]")).to_contain_text("签到中")
            expect(page.locator("#id-number")).to_be_focused()
            page.screenshot(path=str(SHOTS / "yidi-terminal-idle.png"), full_page=True)
            page.keyboard.type(ID_NUMBER)  # the ID-card reader types the number and Enter
            page.keyboard.press("Enter")
            expect(page.locator("#prompt")).to_have_text("请缓慢向左转头", timeout=SLOW)
            expect(page.locator("#id-number")).to_have_value("")
            page.screenshot(path=str(SHOTS / "yidi-terminal-capturing.png"), full_page=True)
            outcome = page.locator("#outcome.fail")
            expect(outcome).to_contain_text("活体检测未通过", timeout=SLOW)
            page.screenshot(path=str(SHOTS / "yidi-terminal-still-photo.png"), full_page=True)
            assert len(_attempts()) == 1 and _attempts()[0].startswith("checkin.liveness."), _attempts()
            assert _checkins() == 0
            assert page.evaluate("document.querySelector('#camera').srcObject") is None  # the camera is off
        finally:
            browser.close()

        browser = _browser(pw, turning)
        try:
            room = browser.new_page(viewport={"width": 1280, "height": 900})
            _log_in(room, base, "super")
            room.goto(f"{base}/checkin/rooms/MAIN-R1")
            checked_in = room.locator("[data-project=P1] td[data-count=checked_in]")
            expect(checked_in).to_have_text("0")

            page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
            _log_in(page, base, "term1")
            expect(page).to_have_url(f"{base}/terminal")
            page.fill("#id-number", ID_NUMBER)
            page.press("#id-number", "Enter")
            outcome = page.locator("#outcome")
            expect(outcome).to_contain_text("签到成功", timeout=SLOW)
            expect(outcome).to_have_class("kiosk-outcome ok")
            expect(outcome).to_contain_text(seated["name"])
            expect(outcome).to_contain_text("P1")
            expect(outcome).to_contain_text("MAIN-R1")
            page.screenshot(path=str(SHOTS / "yidi-terminal-checked-in.png"), full_page=True)
            assert _attempts()[-1] == "checked_in" and _checkins() == 1
            expect(page.locator("#projects [data-project=P1]")).to_contain_text("已签到 1/1")

            expect(checked_in).to_have_text("1", timeout=15_000)  # the room page's own refresh
            room.screenshot(path=str(SHOTS / "yidi-terminal-room.png"), full_page=True)
            # The kiosk resets for the next expert.
            expect(outcome).to_be_hidden(timeout=15_000)
            expect(page.locator("#id-number")).to_be_focused()

            # After the start the coordinator uploads the report; the expert signs it off at the kiosk.
            moving.at = AFTER_START
            digest = _upload_report(b"%PDF-1.4 evaluation report of P1")
            page.reload()
            page.click("#mode-signoff")
            shown = page.locator("#reports code.sha256")
            expect(shown.locator("span")).to_have_count(16)
            assert "".join(shown.locator("span").all_inner_texts()) == digest
            page.screenshot(path=str(SHOTS / "yidi-terminal-signoff.png"), full_page=True)
            page.fill("#id-number", ID_NUMBER)
            page.press("#id-number", "Enter")
            expect(outcome).to_contain_text("请先核对哈希值并勾选确认")  # nothing is sent unconfirmed
            page.check("#confirm-hash")
            page.fill("#id-number", ID_NUMBER)
            page.press("#id-number", "Enter")
            expect(outcome).to_contain_text(f"{seated['name']}，已签署项目 P1 的评标报告", timeout=SLOW)
            expect(outcome).to_contain_text(digest)
            page.screenshot(path=str(SHOTS / "yidi-terminal-signed-off.png"), full_page=True)
            assert _attempts()[-1] == "signed_off"
            expect(room.locator("[data-project=P1] td[data-count=signed_off]")).to_have_text("1", timeout=15_000)
        finally:
            browser.close()


def test_a_kiosk_without_camera_permission_sends_the_expert_to_the_supervisor(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import expect, sync_playwright

    need_chromium()
    with serve(tmp_path, monkeypatch) as (base, _), sync_playwright() as pw:
        # A fake camera, but no automatic "allow": headless Chromium denies the permission request.
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=[*LAUNCH_ARGS, "--use-fake-device-for-media-stream"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            _log_in(page, base, "term1")
            page.goto(f"{base}/terminal?lang=en")
            page.fill("#id-number", ID_NUMBER)
            page.press("#id-number", "Enter")
            outcome = page.locator("#outcome.fail")
            expect(outcome).to_contain_text("Ask the supervisor for a manual check-in", timeout=SLOW)
            page.screenshot(path=str(SHOTS / "yidi-terminal-no-camera.png"), full_page=True)
            assert _attempts() == []  # nothing was sent
        finally:
            browser.close()
