"""Janus's configuration for Yidi, written into a folder, and Janus run from it (deployments and tests).

Only what the product uses is loaded: the VideoRoom and Streaming plugins and the HTTP transport,
on loopback unless told otherwise. ICE-lite is required (the SDP bridge of sfu.sdp relies on it);
the admin key locks room, mountpoint and forwarder creation to the service.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx

PLUGINS = "/usr/lib/x86_64-linux-gnu/janus"
UNUSED_PLUGINS = ("audiobridge", "duktape", "echotest", "lua", "nosip", "recordplay", "sip", "textroom",
                  "videocall", "voicemail")
UNUSED_TRANSPORTS = ("mqtt", "nanomsg", "pfunix", "rabbitmq", "websockets")


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(folder: Path, *, http_port: int = 8088, admin_key: str = "", session_timeout: int = 60,
                 rtp_ports: tuple[int, int] = (20000, 40000), http_ip: str = "127.0.0.1",
                 no_media_seconds: int = 10, libraries: str = PLUGINS) -> Path:
    """Write janus.jcfg and its plugin/transport files into `folder`; returns janus.jcfg's path.

    `no_media_seconds`: Janus tells the service a camera stopped after this long without packets.
    """
    folder.mkdir(parents=True, exist_ok=True)
    middle = (rtp_ports[0] + rtp_ports[1]) // 2  # ICE ports below, mountpoints' RTP ports above
    disabled = ",".join(f"libjanus_{name}.so" for name in UNUSED_PLUGINS)
    transports = ",".join(f"libjanus_{name}.so" for name in UNUSED_TRANSPORTS)
    (folder / "janus.jcfg").write_text(f"""general: {{
	configs_folder = {_quote(str(folder))}
	plugins_folder = {_quote(libraries + "/plugins")}
	transports_folder = {_quote(libraries + "/transports")}
	events_folder = {_quote(libraries + "/events")}
	loggers_folder = {_quote(libraries + "/loggers")}
	debug_level = 3
	session_timeout = {session_timeout}
	server_name = "yidi-sfu"
}}
media: {{
	rtp_port_range = "{rtp_ports[0]}-{middle}"
	no_media_timer = {no_media_seconds}
}}
nat: {{
	ice_lite = true
}}
plugins: {{
	disable = {_quote(disabled)}
}}
transports: {{
	disable = {_quote(transports)}
}}
events: {{
	broadcast = false
}}
loggers: {{
	disable = "libjanus_jsonlog.so"
}}
""")
    (folder / "janus.transport.http.jcfg").write_text(f"""general: {{
	json = "plain"
	base_path = "/janus"
	http = true
	port = {http_port}
	ip = {_quote(http_ip)}
	https = false
}}
admin: {{
	admin_http = false
}}
""")
    key = f"\tadmin_key = {_quote(admin_key)}\n\tlock_rtp_forward = true\n" if admin_key else ""
    (folder / "janus.plugin.videoroom.jcfg").write_text(f"general: {{\n{key}}}\n")
    (folder / "janus.plugin.streaming.jcfg").write_text(
        f"general: {{\n\trtp_port_range = \"{middle + 1}-{rtp_ports[1]}\"\n"
        + (f"\tadmin_key = {_quote(admin_key)}\n" if admin_key else "") + "}\n")
    return folder / "janus.jcfg"


def janus_binary() -> str | None:
    """The janus executable (Debian's package `janus`), if installed."""
    return shutil.which("janus")


class JanusProcess:
    """Janus running from a folder written by `write_config`, until `stop`."""

    def __init__(self, folder: Path, *, http_port: int, log: Path, **config: object) -> None:
        self.config = write_config(folder, http_port=http_port, **config)  # type: ignore[arg-type]
        self.url = f"http://127.0.0.1:{http_port}/janus"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20) -> None:
        binary = janus_binary()
        if binary is None:
            raise RuntimeError("janus is not installed (Debian: apt-get install janus janus-tools)")
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([binary, "-F", str(self.config.parent), "-C", str(self.config)],
                                         stdout=out, stderr=subprocess.STDOUT, env={**os.environ})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/info", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"janus did not start:\n{self.log.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
