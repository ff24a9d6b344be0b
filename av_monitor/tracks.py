"""A viewer's track that outlives publishers: it forwards the room's current relayed track.

aiortc's RTP sender stops for good when its track raises MediaStreamError, which a relayed track
does when its publisher goes away. A viewer should instead see the next publisher of the room (a
terminal reconnecting, or a replacement), so each viewer sender gets one of these, and the hub
points it at a fresh `MediaRelay` proxy whenever the room's publisher changes.
"""

from __future__ import annotations

import asyncio

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av.frame import Frame
from av.packet import Packet


class ViewerTrack(MediaStreamTrack):
    """Frames of whatever source it currently follows; waits (sending nothing) while there is none."""

    def __init__(self, kind: str, source: MediaStreamTrack | None) -> None:
        super().__init__()
        self.kind = kind
        self._source = source
        self._changed = asyncio.Event()
        self.mime = ""  # the codec the viewer's connection negotiated (lower-case MIME type)
        self.transcoding = False  # it follows decoded frames, so its sender encodes
        self.layer = "full"  # "thumb": a wall tile's shared thumbnail (video only)

    def follow(self, source: MediaStreamTrack | None) -> None:
        """Forward `source` from now on.

        The previous source is not stopped here: a relay proxy stopped while a `recv` awaits it is
        never woken, whereas the old publisher's end wakes it with MediaStreamError, after which
        `recv` moves to the new source.
        """
        self._source = source
        self._changed.set()

    async def recv(self) -> Frame | Packet:
        """The next frame of the current source."""
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            source = self._source
            if source is not None:
                try:
                    return await source.recv()
                except MediaStreamError:
                    if self._source is source:
                        self._source = None  # the publisher left: wait for the next one
                    continue
            self._changed.clear()
            await self._changed.wait()

    def request_keyframe(self) -> None:
        """The viewer lost a picture: ask the publisher for a keyframe when forwarding its frames."""
        request = getattr(self._source, "request_keyframe", None)
        if request is not None:
            request()

    def stop(self) -> None:
        """End this track and release its relay proxy."""
        super().stop()
        source, self._source = self._source, None
        if source is not None:
            source.stop()
        self._changed.set()
