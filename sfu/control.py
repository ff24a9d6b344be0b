"""A process's control session on Janus: VideoRoom rooms, Streaming mountpoints, RTP forwarders.

Rooms, mountpoints and forwarders belong to Janus, not to the session that asked for them: they
outlive the asking process. The control session is only this process's way of asking; when Janus
has dropped it (a restart, a long pause), a new one is opened and the request repeated once.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from sfu.janus import JanusClient, JanusError
from sfu.sdp import Want

logger = logging.getLogger(__name__)
VIDEOROOM, STREAMING = "janus.plugin.videoroom", "janus.plugin.streaming"
NO_SUCH_ROOM, ROOM_EXISTS = 426, 427


def janus_room(code: str) -> int:
    """The Janus room id of a product room (the same in every process; below 2**53 for JSON)."""
    return int.from_bytes(hashlib.sha256(code.encode()).digest()[:6], "big")


class Control:
    """Room, mountpoint and forwarder requests of one process, with the plugins' admin key."""

    def __init__(self, janus: JanusClient, *, admin_key: str, forward_host: str, keyframe_seconds: int) -> None:
        self.janus = janus
        self.admin = {"admin_key": admin_key} if admin_key else {}
        self.forward_host = forward_host
        self.keyframe_seconds = keyframe_seconds
        self.session: tuple[int, int, int] | None = None  # session, VideoRoom handle, Streaming handle
        self._rooms: set[str] = set()  # Janus rooms this process knows exist

    async def _handles(self) -> tuple[int, int, int]:
        if self.session is None:
            session = await self.janus.create_session()
            self.session = (session, await self.janus.attach(session, VIDEOROOM),
                            await self.janus.attach(session, STREAMING))
        return self.session

    async def request(self, plugin: str, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous request to `plugin` with the admin key; reopens a dropped control session once."""
        for attempt in (1, 2):
            session, videoroom, streaming = await self._handles()
            try:
                return await self.janus.request(session, videoroom if plugin == VIDEOROOM else streaming,
                                                {**body, **self.admin})
            except JanusError as exc:
                if not exc.gone or attempt == 2:
                    raise
                self.session = None
        raise AssertionError("unreachable")

    async def keepalive(self) -> None:
        if self.session is not None:
            try:
                await self.janus.keepalive(self.session[0])
            except JanusError:
                self.session = None

    async def close(self) -> None:
        if self.session is not None:
            await self.janus.destroy(self.session[0])
            self.session = None

    def forget_room(self, code: str) -> None:
        """Janus lost the room (it restarted): the next `ensure_room` makes it again."""
        self._rooms.discard(code)

    async def ensure_room(self, code: str) -> int:
        """The room's VideoRoom room, created when Janus does not have it yet."""
        room = janus_room(code)
        if code not in self._rooms:
            try:
                await self.request(VIDEOROOM, {
                    "request": "create", "room": room, "description": code[:100], "publishers": 2,
                    # No h264_profile: with one, Janus 1.1.2 looks for it in every m-line of the offer and
                    # gives H.264 to the camera page's VP8-only low layer, then rejects that m-line.
                    "videocodec": "h264,vp8", "audiocodec": "opus", "fir_freq": self.keyframe_seconds,
                    "notify_joining": False})
            except JanusError as exc:
                if exc.code != ROOM_EXISTS:  # made by another process, or kept by Janus
                    raise
            self._rooms.add(code)
        return room

    async def create_mount(self, code: str, feed: int, layer: str, chosen: list[Want],
                           sources: dict[str, str | None]) -> tuple[int, str]:
        """A Streaming mountpoint in the viewers' payload types, fed from the publisher `feed`.

        Returns (mountpoint id, the forwarders' ids).
        """
        media = [{"type": w.kind, "mid": str(i), "port": 0, "pt": w.pt, "codec": w.codec,
                  **({"fmtp": w.fmtp} if w.fmtp else {}), **({"bufferkf": True} if w.kind == "video" else {})}
                 for i, w in enumerate(chosen)]
        stream = (await self.request(STREAMING, {"request": "create", "type": "rtp", "media": media,
                                                 "description": f"{code} {layer}"[:100]}))["stream"]
        ports = [p["port"] for p in stream["ports"]]
        try:
            forward = await self.request(VIDEOROOM, {
                "request": "rtp_forward", "room": janus_room(code), "publisher_id": feed, "host": self.forward_host,
                "streams": [{"mid": sources[w.kind], "port": port, "pt": w.pt}
                            for w, port in zip(chosen, ports, strict=True)]})
        except BaseException:
            await self.destroy_mount(int(stream["id"]))
            raise
        return int(stream["id"]), ",".join(str(f["stream_id"]) for f in forward.get("forwarders", []))

    async def destroy_mount(self, mount: int) -> None:
        """Remove a mountpoint (its viewers hang up); gone already is fine."""
        try:
            await self.request(STREAMING, {"request": "destroy", "id": mount})
        except JanusError as exc:
            logger.info("SFU: mountpoint %s not destroyed: %s", mount, exc)
