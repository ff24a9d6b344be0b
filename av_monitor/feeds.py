"""What each viewer track of the hub follows: a room's thumbnail, its forwarded packets or decoded frames.

A WHEP viewer's track (av_monitor.tracks.ViewerTrack) is told at creation which layer it shows and
which codec its connection took. `feed` picks its source whenever the room's publisher changes:
a wall tile (`layer="thumb"`) gets the publisher's own low layer forwarded when it sends one (a
second video track), else the room's shared `Thumbnailer` (VP8); a full view whose codec is
the publisher's gets the publisher's `Fanout` (forwarding); anything else gets decoded frames from
the relay and is transcoded by its sender. `decode_wanted` tells the publisher's tee whether anyone
needs pictures.
"""

from __future__ import annotations

from typing import Any

from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaRelay

from av_monitor.forward import prefer
from av_monitor.rooms import Room
from av_monitor.thumbs import Thumbnailer
from av_monitor.tracks import ViewerTrack
from config.settings import Settings


def decode_wanted(room: Room, kind: str) -> bool:
    """Someone needs the track decoded: a transcoding recorder, the thumbnail encode, or a transcoded viewer."""
    recorder_decodes = room.recorder is not None and kind not in room.recorder_packets
    thumbnailing = kind == "video" and room.thumbs is not None
    return recorder_decodes or thumbnailing or any(vt.transcoding and vt.kind == kind
                                                   for p in room.viewers.values() for vt in p.tracks)


def viewer_track(room: Room, transceiver: Any, layer: str) -> ViewerTrack:
    """A new viewer's track for `transceiver`, its codecs narrowed (before the answer) to what it will be sent."""
    vt = ViewerTrack(transceiver.kind, None)
    fanout = room.fanouts.get(transceiver.kind)
    low = room.fanouts.get("thumb")  # the publisher's own low layer, when it sends one
    if layer == "thumb" and transceiver.kind == "video" and (
            (low is not None and prefer(transceiver, low.mime)) or prefer(transceiver, "video/vp8")):
        vt.layer = "thumb"
    elif fanout is not None:
        prefer(transceiver, fanout.mime)  # answer with the publisher's codec: forwardable
    vt.mime = str(transceiver._codecs[0].mimeType).lower() if transceiver._codecs else ""
    return vt


def feed(room: Room, vt: ViewerTrack, relay: MediaRelay, settings: Settings) -> MediaStreamTrack | None:
    """What a viewer follows now: the thumbnail, the fanout when it takes the publisher's codec, else decoded frames."""
    if vt.layer == "thumb" and vt.kind == "video":
        src, low = room.sources.get("video"), room.fanouts.get("thumb")
        vt.transcoding = False
        if low is not None and vt.mime == low.mime:
            return low.subscribe()
        if src is None:
            return None
        if vt.mime != "video/vp8":  # the tile took the old publisher's layer codec; the new one sends none
            vt.transcoding = True
            return relay.subscribe(src, buffered=False)
        if room.thumbs is None:
            room.thumbs = Thumbnailer(relay.subscribe(src, buffered=False), settings)
        return room.thumbs.fanout.subscribe()
    fanout = room.fanouts.get(vt.kind)
    if fanout is not None and vt.mime == fanout.mime:
        vt.transcoding = False
        return fanout.subscribe()
    src = room.sources.get(vt.kind)
    vt.transcoding = src is not None
    return relay.subscribe(src, buffered=False) if src is not None else None


def stop_thumbs(room: Room) -> None:
    """Stop the room's thumbnail encode (its publisher changed, or no tile shows it)."""
    thumbs, room.thumbs = room.thumbs, None
    if thumbs is not None:
        thumbs.stop()


def pass_keyframe_requests(sender: Any, vt: ViewerTrack) -> None:
    """A viewer's PLI/FIR reaches the publisher when the viewer forwards (aiortc only flags its encoder)."""
    flag_encoder = sender._send_keyframe

    def keyframe() -> None:
        flag_encoder()
        vt.request_keyframe()

    sender._send_keyframe = keyframe
