"""WHIP and WHEP with a client nobody here wrote: medooze's `whip-whep` (npm) in Chromium, from another origin.

On both back ends: the embedded aiortc hub, and the SFU (the session's real Janus, `YIDI_AV_BACKEND=janus`).

The pages are served by a plain static server on another port (so every call is cross-origin and
needs the CORS preflight the service answers for `YIDI_WEBRTC_CORS_ORIGINS`). Chromium's fake
camera publishes through `WHIPClient` with the room terminal's bearer token; `WHEPClient` views with
a supervisor's token and its `<video>` must play; `stop()` ends both sessions with DELETE. The client
trickles its candidates by PATCH and accepts our 405 (the answer holds every candidate). The npm
package is installed by `.ci/run` (`npm ci` in tests/e2e/clients); without it the test is skipped,
except under CI=true.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from av_monitor import webrtc
from av_monitor.sfu_hub import SfuHub
from config.settings import Settings, get_settings
from tests.api_support import PASSWORD
from tests.e2e.support import free_port, launch_with_camera, need_chromium, serve
from tests.e2e.test_av_wall import fake_video, tone, wait_for
from tests.sfu_fixtures import ADMIN_KEY

CLIENTS = Path(__file__).resolve().parent / "clients" / "node_modules" / "whip-whep"
ROOM = "MAIN-R1"
PAGE = """<!doctype html><meta charset="utf-8"><title>interop</title>
<video id="v" autoplay muted playsinline></video>
<script type="module">
import { WHIPClient } from "./whip.js";
import { WHEPClient } from "./whep.js";
window.publish = async (url, token) => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: "sendonly" });
  window.client = new WHIPClient();
  await window.client.publish(pc, url, token);
  window.pc = pc;
  return String(window.client.resourceURL);
};
window.view = async (url, token) => {
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  pc.ontrack = (event) => { document.getElementById("v").srcObject = event.streams[0]
                             || new MediaStream([event.track]); };
  window.client = new WHEPClient();
  await window.client.view(pc, url, token);
  window.pc = pc;
  return String(window.client.resourceURL);
};
window.ready = true;
</script>
"""


def need_clients() -> None:
    """Skip without the npm package, except under CI=true where its absence fails the test."""
    if (CLIENTS / "whip.js").exists():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{CLIENTS} is absent under CI=true: .ci/run installs it with npm ci", pytrace=False)
    pytest.skip("whip-whep is not installed: run `npm ci --prefix tests/e2e/clients`")


@pytest.fixture
def pages(tmp_path: Path) -> Iterator[str]:
    """The client page and medooze's modules on a static server of another origin."""
    root = tmp_path / "static"
    root.mkdir()
    for name in ("whip.js", "whep.js"):
        shutil.copy(CLIENTS / name, root / name)
    (root / "index.html").write_text(PAGE, encoding="utf-8")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def _token(base: str, user: str) -> str:
    r = httpx.post(f"{base}/api/auth/token", data={"username": user, "password": PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _session(browser: Any, pages: str, action: str, url: str, token: str) -> tuple[Any, str]:
    """A new page of the other origin that runs `window.<action>(url, token)`; the page and the resource URL."""
    page = browser.new_page()
    page.goto(f"{pages}/index.html")
    page.wait_for_function("window.ready === true")
    return page, str(page.evaluate(f"([u, t]) => window.{action}(u, t)", [url, token]))


def _hub(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> webrtc.RoomHub | SfuHub:
    if backend == "aiortc":
        return webrtc.RoomHub(settings=Settings(recording_directory=tmp_path / "recordings",
                                                webrtc_record_while_publishing=False))
    janus = request.getfixturevalue("janus")  # skips without Janus, except under CI=true
    return SfuHub(settings=Settings(av_backend="janus", sfu_janus_url=janus.url, sfu_admin_key=ADMIN_KEY,
                                    recording_directory=tmp_path / "recordings",
                                    webrtc_record_while_publishing=False))


@pytest.mark.parametrize("backend", ["aiortc", "janus"])
def test_medooze_whip_whep_clients_publish_and_view_from_another_origin(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pages: str, backend: str,
        request: pytest.FixtureRequest) -> None:
    from playwright.sync_api import sync_playwright

    need_chromium()
    need_clients()
    monkeypatch.setenv("YIDI_WEBRTC_CORS_ORIGINS", json.dumps([pages]))
    get_settings.cache_clear()
    hub = _hub(backend, tmp_path, request)
    monkeypatch.setattr(webrtc, "_hub", hub)
    video, audio = fake_video(tmp_path / "camera.y4m"), tone(tmp_path / "tone.wav")
    try:
        with serve(tmp_path, monkeypatch) as (base, _), sync_playwright() as pw:
            browser = launch_with_camera(pw, video, audio)
            try:
                camera, resource = _session(browser, pages, "publish", f"{base}/api/rooms/{ROOM}/whip",
                                            _token(base, "term1"))
                assert resource.startswith(f"{base}/api/rooms/{ROOM}/whip/")
                # The embedded hub sees the frames arrive; through the SFU, the viewer below shows they did.
                assert wait_for(lambda: hub.state(ROOM).publishing and (
                    backend == "janus" or hub.state(ROOM).last_frame_at is not None), timeout=30), \
                    "the medooze publisher's media reached the service"

                viewer, viewed = _session(browser, pages, "view", f"{base}/api/rooms/{ROOM}/whep",
                                          _token(base, "super"))
                assert viewed.startswith(f"{base}/api/rooms/{ROOM}/whep/")
                player = viewer.locator("#v")
                viewer.wait_for_function("v => v.readyState >= 2 && v.videoWidth > 0",
                                         arg=player.element_handle(), timeout=30_000)
                first = player.evaluate("v => v.currentTime")
                viewer.wait_for_timeout(1500)
                assert player.evaluate("v => v.currentTime") > first, "the forwarded video plays on"
                assert hub.state(ROOM).viewers == 1

                viewer.evaluate("() => window.client.stop()")
                assert wait_for(lambda: hub.state(ROOM).viewers == 0), "WHEP DELETE ended the session"
                camera.evaluate("() => window.client.stop()")
                assert wait_for(lambda: not hub.state(ROOM).publishing), "WHIP DELETE ended the session"
            finally:
                browser.close()
    finally:
        if isinstance(hub, webrtc.RoomHub) and hub.loop is not None and hub.loop.is_running():
            asyncio.run_coroutine_threadsafe(webrtc.shutdown(), hub.loop).result(30)
        get_settings.cache_clear()
