"""The Streaming mountpoints that serve a room's viewers through the SFU.

One mountpoint per room, publisher and shape of viewer offer (layer, kinds, payload types and
fmtp): every viewer of that shape shares it, fed by one VideoRoom RTP forwarder of the publisher's
streams. Its row (sfu.models.SfuMount) lets every process find it; two processes making the same
one at once keep the first stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from av_monitor.rooms import NotPublishing
from sfu import sdp
from sfu import service as state
from sfu.control import Control
from sfu.janus import JanusClient, JanusError
from sfu.models import SfuMount, SfuPeer

logger = logging.getLogger(__name__)


class Mounts:
    """Find, make and remove the mountpoints of viewers."""

    def __init__(self, control: Control, janus: JanusClient, run_db: Callable[..., Awaitable[Any]]) -> None:
        self.control, self.janus, self._db = control, janus, run_db
        self._locks: dict[str, asyncio.Lock] = {}

    async def for_viewer(self, room_code: str, publisher: SfuPeer, layer: str, chosen: list[sdp.Want],
                         sources: dict[str, str | None]) -> SfuMount:
        """The mountpoint for this shape of viewer, made (mountpoint and forwarder) when none exists."""
        assert publisher.feed is not None
        shape = layer + "|" + ",".join(f"{w.kind}:{w.pt}:{w.codec}:{w.fmtp or ''}" for w in chosen)
        async with self._locks.setdefault(room_code, asyncio.Lock()):
            found = await self._db(state.get_mount, room_code=room_code, feed=publisher.feed, shape=shape)
            if found is not None:
                return found
            mount_id, forwarders = await self.control.create_mount(room_code, publisher.feed, layer, chosen, sources)
            mount = SfuMount(id=mount_id, room_code=room_code, feed=publisher.feed, shape=shape, forwarders=forwarders)
            stored = await self._db(state.add_mount, mount=mount)
            if stored is None:  # another process made the same one meanwhile: use that
                await self.control.destroy_mount(mount.id)
                again = await self._db(state.get_mount, room_code=room_code, feed=publisher.feed, shape=shape)
                if again is None:
                    raise NotPublishing(f"room {room_code}'s publisher changed; watch again")
                return again
            return stored

    async def drop(self, mount: SfuMount) -> None:
        """Remove a mountpoint and hang its viewers up (their publisher is gone)."""
        for viewer in await self._db(state.remove_mount, mount_id=mount.id):
            try:
                await self.janus.destroy(viewer.janus_session)
            except JanusError as exc:
                logger.info("SFU clean-up: %s", exc)
        await self.control.destroy_mount(mount.id)
