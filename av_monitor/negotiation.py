"""Signalling for the hub's peer connections: configuration, checked SDP offers, answers, the publisher's media.

A WHIP/WHEP exchange is one offer and one complete answer (aiortc gathers every ICE candidate
first, so nothing trickles). A publisher's offer may carry a second video track: its low layer for
wall tiles, which the camera page sends.
"""

from __future__ import annotations

from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)

from av_monitor.forward import prefer
from av_monitor.rooms import OfferError
from config.settings import Settings


def configuration(s: Settings) -> RTCConfiguration:
    """The ICE servers of the settings (TURN with its credentials) and max-bundle."""
    servers = [RTCIceServer(urls=url, username=s.webrtc_turn_username or None,
                            credential=s.webrtc_turn_credential.get_secret_value() or None)
               if url.startswith("turn") else RTCIceServer(urls=url) for url in s.webrtc_ice_servers]
    # An explicit (possibly empty) list: aiortc would otherwise contact a public STUN server. Max-bundle:
    # with aiortc's default (balanced) a second video m-line after an audio one keeps a transport the
    # bundle drops, and its packets (a camera page's low layer) are never received.
    return RTCConfiguration(iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


async def apply_offer(pc: RTCPeerConnection, offer_sdp: str, *, publish: bool) -> None:
    """Check and apply an SDP offer (OfferError names what is wrong)."""
    if not offer_sdp.lstrip().startswith("v=0") or "\nm=" not in offer_sdp.replace("\r\n", "\n"):
        raise OfferError("the body is not an SDP offer with media (v=0 … m=…)")
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
    except Exception as exc:  # aiortc raises assorted errors on malformed SDP; the client must hear why
        raise OfferError(f"unusable SDP offer: {exc}") from exc
    transceivers = pc.getTransceivers()
    if not transceivers or any(t.kind not in ("audio", "video") for t in transceivers):
        raise OfferError("the offer must carry audio and/or video media only")
    # aiortc keeps the offer's direction as seen from our side (a sendonly offer is recvonly here).
    wanted = ("recvonly", "sendrecv") if publish else ("sendonly", "sendrecv")
    if any(getattr(t, "_offerDirection", None) not in wanted for t in transceivers):
        raise OfferError("a WHIP offer must send its media" if publish else "a WHEP offer must receive media")


async def answer(pc: RTCPeerConnection) -> str:
    """The complete answer (aiortc gathers ICE first: WHIP/WHEP need no trickle then)."""
    await pc.setLocalDescription(await pc.createAnswer())
    return str(pc.localDescription.sdp)


def prefer_camera_codec(pc: RTCPeerConnection, mime: str) -> None:
    """Take `mime` (the codec the recorder can remux) for the publisher's camera when its offer has it."""
    cameras = [t for t in pc.getTransceivers() if t.kind == "video"]
    if mime and cameras:
        prefer(cameras[0], mime.lower())


def split_layer(tracks: list[MediaStreamTrack]) -> tuple[list[MediaStreamTrack], MediaStreamTrack | None]:
    """A publisher's camera and microphone (one track of each kind), and its low layer (the second video track)."""
    videos = [t for t in tracks if t.kind == "video"]
    layer = videos[1] if len(videos) > 1 else None
    return [t for t in tracks if t.kind != "video" or t is videos[0]], layer
