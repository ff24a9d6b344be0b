"""`yidi serve --demo` (the README's first command) starts a working service with demo data."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_demo_starts_and_draws(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "YIDI_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}", "YIDI_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--demo"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "service did not start"
            time.sleep(0.5)
        openapi = httpx.get(f"{base}/openapi.json", timeout=5).json()
        assert "/api/draws" in openapi["paths"]
        assert httpx.post(f"{base}/api/draws", json={"project_codes": ["NOPE"]}, timeout=30).status_code == 401
        login = httpx.post(f"{base}/api/auth/token", data={"username": "coordinator",
                                                           "password": "yidi-demo-2026"}, timeout=30)
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        r = httpx.post(f"{base}/api/draws", json={"project_codes": ["NOPE"]}, headers=auth, timeout=30)
        assert r.status_code == 404
        # The demo kiosk account is bound to a room and reads it.
        kiosk = httpx.post(f"{base}/api/auth/token", data={"username": "terminal", "password": "yidi-demo-2026"},
                           timeout=30)
        assert kiosk.status_code == 200, kiosk.text
        room = httpx.get(f"{base}/api/checkin/terminal", timeout=30,
                         headers={"Authorization": f"Bearer {kiosk.json()['access_token']}"})
        assert room.status_code == 200 and room.json()["room_code"], room.text
        # The demo has a bid-opening room with a public opening on the demo day; its link answers anyone.
        sites = httpx.get(f"{base}/api/sites", headers=auth, timeout=30).json()
        rooms = [r for site in sites for r in httpx.get(f"{base}/api/sites/{site['code']}/rooms", headers=auth,
                                                        timeout=30).json()]
        opening_room = next((r["code"] for r in rooms if r["purpose"] == "opening"), "none")
        listed = httpx.get(f"{base}/api/rooms/{opening_room}/openings", headers=auth, timeout=30)
        assert listed.status_code == 200 and len(listed.json()) == 1, listed.text
        facts = httpx.get(f"{base}{listed.json()[0]['watch_path'].replace('/watch/', '/api/watch/')}", timeout=30)
        assert facts.status_code == 200 and facts.json()["status"] == "scheduled"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
