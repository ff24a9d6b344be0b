"""WHIP/WHEP over HTTP for clients nobody here wrote: CORS preflights, OPTIONS, PATCH, ICE server links."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from av_monitor.whip_http import ice_links
from config.settings import Settings, get_settings
from tests.api_support import app_client, bearer

STUDIO = "https://studio.example"
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}


@pytest.fixture
def client(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app with one foreign origin allowed to use WHIP/WHEP."""
    monkeypatch.setenv("YIDI_WEBRTC_CORS_ORIGINS", f'["{STUDIO}"]')
    get_settings.cache_clear()
    try:
        with app_client(engine, monkeypatch) as c:
            yield c
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("path", ["/api/rooms/MAIN-R1/whip", "/api/rooms/MAIN-R1/whep",
                                  "/api/rooms/MAIN-R1/whip/abc", "/api/rooms/MAIN-R1/whep/abc"])
def test_preflight_from_an_allowed_origin_passes(client: TestClient, path: str) -> None:
    r = client.options(path, headers={"Origin": STUDIO, **PREFLIGHT})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == STUDIO
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "authorization" in r.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in r.headers  # bearer tokens only, never the console cookie


def test_preflight_from_another_origin_is_refused(client: TestClient) -> None:
    r = client.options("/api/rooms/MAIN-R1/whip", headers={"Origin": "https://elsewhere.example", **PREFLIGHT})
    assert r.status_code == 400
    assert "access-control-allow-origin" not in r.headers
    # Paths other than WHIP/WHEP never get CORS headers.
    r = client.options("/api/projects", headers={"Origin": STUDIO, **PREFLIGHT})
    assert "access-control-allow-origin" not in r.headers


def test_no_origin_is_allowed_by_default(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIDI_WEBRTC_CORS_ORIGINS", raising=False)
    get_settings.cache_clear()
    with app_client(engine, monkeypatch) as c:
        r = c.options("/api/rooms/MAIN-R1/whip", headers={"Origin": STUDIO, **PREFLIGHT})
        assert r.status_code == 400 and "access-control-allow-origin" not in r.headers


def test_plain_options_names_methods_and_sdp(client: TestClient) -> None:
    r = client.options("/api/rooms/MAIN-R1/whip")
    assert r.status_code == 204
    assert r.headers["allow"] == "OPTIONS, POST" and r.headers["accept-post"] == "application/sdp"
    r = client.options("/api/rooms/MAIN-R1/whep/some-session")
    assert r.status_code == 204 and r.headers["allow"] == "OPTIONS, DELETE"


def test_patch_is_405_with_allow(client: TestClient) -> None:
    for path in ("/api/rooms/MAIN-R1/whip/abc", "/api/rooms/MAIN-R1/whep/abc"):
        r = client.patch(path, content=b"a=candidate:1 1 udp 1 10.0.0.1 9 typ host",
                         headers={"Content-Type": "application/trickle-ice-sdpfrag"})
        assert r.status_code == 405
        assert r.headers["allow"] == "OPTIONS, DELETE"
        assert r.json()["detail"][0]["loc"] == ["method"]


def test_answers_to_an_allowed_origin_expose_the_whip_headers(client: TestClient) -> None:
    headers = {"Origin": STUDIO, "Content-Type": "text/plain", **bearer(client, "term1")}
    r = client.post("/api/rooms/MAIN-R1/whip", content=b"v=0", headers=headers)
    assert r.status_code == 415 and "content-type" in r.text
    assert r.headers["access-control-allow-origin"] == STUDIO
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"location", "link", "etag"} <= exposed


def test_ice_servers_become_link_headers() -> None:
    settings = Settings(webrtc_ice_servers=["stun:stun.example.net", "turn:turn.example.net?transport=udp"],
                        webrtc_turn_username="yidi", webrtc_turn_credential=SecretStr('se"cret'))
    assert ice_links(settings) == [
        '<stun:stun.example.net>; rel="ice-server"',
        '<turn:turn.example.net?transport=udp>; rel="ice-server"; username="yidi"; credential="se\\"cret"; '
        'credential-type="password"',
    ]
    assert ice_links(Settings(webrtc_ice_servers=[])) == []
