"""Watching the SFU's sessions: keepalives, and a long poll per session for what Janus says of it.

Every process keeps every stored Janus session alive and polls it. Janus hands each event to one
poller, and all of them act alike: a hang-up (a peer gone without a DELETE) ends the publisher or
viewer, and a `media` event about a publisher's camera raises or clears the `no_frames` alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, Protocol

from av_monitor import service
from av_monitor.audit import AuditWriter
from config.settings import Settings
from sfu import sdp
from sfu import service as state
from sfu.control import Control
from sfu.janus import JanusClient, JanusError
from sfu.models import SfuPeer


class WatchedHub(Protocol):
    """What the watch needs of `av_monitor.sfu_hub.SfuHub`."""

    settings: Settings
    janus: JanusClient
    control: Control
    audit: AuditWriter

    async def db_call(self, fn: Callable[..., Any], **kwargs: Any) -> Any: ...
    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]: ...
    async def end_publisher(self, peer: SfuPeer) -> None: ...
    async def quietly(self, call: Awaitable[Any]) -> None: ...

logger = logging.getLogger(__name__)


class SessionWatch:
    """The pollers of one process, one per Janus session of the shared state."""

    def __init__(self, hub: WatchedHub) -> None:
        self.hub = hub
        self.pollers: dict[int, asyncio.Task[None]] = {}  # Janus session -> its poller in this process

    async def once(self) -> int:
        """Keep every stored Janus session alive, and poll it for its events.

        Each session gets one poller in each process: Janus hands every event to one of them, and
        all of them act alike (a hang-up ends the peer, a camera that stopped raises the alert).
        Returns how many pollers were started.
        """
        peers = {p.janus_session: p for p in await self.hub.db_call(state.peers)}
        for session in [s for s in self.pollers if s not in peers]:
            self.pollers.pop(session).cancel()  # ended elsewhere: its session is gone
        started = 0
        for session, peer in peers.items():
            task = self.pollers.get(session)
            if task is None or task.done():
                self.pollers[session] = self.hub.spawn(self._poll(peer))
                started += 1
        limit = asyncio.Semaphore(50)

        async def keepalive(session: int) -> None:
            async with limit:  # a poll does not count as activity for Janus's session timeout: say so
                with contextlib.suppress(JanusError):  # a session gone is its poller's to notice
                    await self.hub.janus.keepalive(session)

        await asyncio.gather(*(keepalive(session) for session in peers))
        await self.hub.control.keepalive()
        return started

    async def _poll(self, peer: SfuPeer) -> None:
        while True:
            try:
                events = await self.hub.janus.poll(peer.janus_session)
            except JanusError as exc:
                if exc.gone:
                    break
                logger.warning("room %s: the SFU could not be polled: %s", peer.room_code, exc)
                await asyncio.sleep(2)
                continue
            # A peer that went away without a DELETE (a closed tab, a lost network) hung its PeerConnection up.
            if any(e.get("janus") == "hangup" for e in events):
                break
            if peer.role == "publisher":
                await self._camera_news(peer, events)
        logger.info("room %s: %s %s is gone from the SFU", peer.room_code, peer.role, peer.id)
        self.pollers.pop(peer.janus_session, None)
        if peer.role == "publisher":
            await self.hub.end_publisher(peer)
        else:
            await self.hub.db_call(state.remove_peer, peer_id=peer.id)
            await self.hub.quietly(self.hub.janus.destroy(peer.janus_session))

    async def _camera_news(self, peer: SfuPeer, events: list[dict[str, Any]]) -> None:
        """Raise `av.alert` (no_frames) when Janus says the camera stopped arriving; clear it when it is back."""
        streams = [item.split(":") for item in peer.streams.split(";") if item.count(":") == 2]
        camera = next((mid for mid, kind, _ in streams if kind == "video"), None)
        stalled = sdp.camera_stalled(events, camera)
        if stalled is None:
            return
        now = datetime.now(UTC)
        changed = await self.hub.db_call(state.set_stalled, peer_id=peer.id, since=now if stalled else None)
        if not changed or not stalled:
            return
        seconds = float(self.hub.settings.webrtc_stream_stopped_seconds)
        logger.warning("room %s: no frames from the camera for %.0f s (Janus)", peer.room_code, seconds)
        self.hub.audit.submit("av.alert", lambda s: service.log_alert(
            s, room_code=peer.room_code, reason="no_frames", session_id=peer.id, seconds=seconds, at=now))
