"""The SDP bridge that lets a WHEP viewer's offer meet Janus's offer (Janus 1.1 plugins only offer).

WHEP viewers send the offer; Janus's Streaming plugin (like every Janus plugin in Debian's 1.1.2)
insists on making it. With Janus in ICE-lite mode both can be satisfied: Janus's offer is answered
with the viewer's ICE credentials and DTLS fingerprint (`setup:active`), and the viewer's offer
with Janus's (`setup:passive`, `ice-lite`). The viewer, a full ICE agent and the offerer in its
own eyes, controls ICE and runs the checks; Janus answers them; DTLS runs with the viewer as
client. The mountpoint is built from the viewer's offer (its m-line order, mids and payload
types), so the media Janus sends is what the viewer asked for, payload type included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

AUDIO_CODEC = "opus"
H264_MODE = re.compile(r"packetization-mode=1")


class SdpError(ValueError):
    """The offer cannot be served; `field` names what is wrong."""

    def __init__(self, message: str, field: str = "sdp") -> None:
        super().__init__(message)
        self.field = field


@dataclass
class Media:
    """One m-section: its m= line and its other lines."""

    line: str
    lines: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.line[2:].split(" ", 1)[0]

    def attr(self, name: str) -> str | None:
        values = self.attrs(name)
        return values[0] if values else None

    def attrs(self, name: str) -> list[str]:
        prefix = f"a={name}:"
        return [line[len(prefix):] for line in self.lines if line.startswith(prefix)]

    def flag(self, name: str) -> bool:
        return f"a={name}" in self.lines


@dataclass
class Sdp:
    session: list[str]
    media: list[Media]

    def attr(self, media: Media, name: str) -> str | None:
        """A media attribute, else the session-level one."""
        value = media.attr(name)
        if value is not None:
            return value
        found = [line.split(":", 1)[1] for line in self.session if line.startswith(f"a={name}:")]
        return found[0] if found else None


def parse(text: str) -> Sdp:
    """Split an SDP into its session part and m-sections."""
    session: list[str] = []
    media: list[Media] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if not line:
            continue
        if line.startswith("m="):
            media.append(Media(line))
        elif media:
            media[-1].lines.append(line)
        else:
            session.append(line)
    if not session or not session[0].startswith("v=0"):
        raise SdpError("the SDP offer does not start with v=0")
    return Sdp(session, media)


@dataclass(frozen=True)
class Want:
    """What one m-line of the viewer's offer receives: kind, mid, payload type, codec and fmtp."""

    index: int
    kind: str
    mid: str
    pt: int
    codec: str
    fmtp: str | None


def _codecs(media: Media) -> list[tuple[int, str, str | None]]:
    fmtp = {}
    for value in media.attrs("fmtp"):
        pt, _, rest = value.partition(" ")
        fmtp[pt] = rest
    found = []
    for value in media.attrs("rtpmap"):
        pt, _, encoding = value.partition(" ")
        if pt.isdigit():
            found.append((int(pt), encoding.split("/")[0].lower(), fmtp.get(pt)))
    return found


def wants(offer: Sdp, video_codec: str) -> list[Want]:
    """The viewer's receiving m-lines, each with the offer's payload type for the codec the SFU forwards."""
    found: list[Want] = []
    for index, media in enumerate(offer.media):
        if media.kind not in ("audio", "video") or media.line.split(" ")[1] == "0":
            continue
        if media.flag("sendonly") or media.flag("inactive"):
            continue
        mid = media.attr("mid")
        if mid is None:
            raise SdpError(f"m-line {index} of the offer has no a=mid (BUNDLE needs one)")
        codec = AUDIO_CODEC if media.kind == "audio" else video_codec
        usable = [(pt, fmtp) for pt, name, fmtp in _codecs(media) if name == codec
                  and (codec != "h264" or (fmtp is not None and H264_MODE.search(fmtp)))]
        if not usable:
            what = "H.264 with packetization-mode=1" if codec == "h264" else codec.upper()
            raise SdpError(f"the offer's {media.kind} m-line ({mid}) has no {what}, the codec the room is sent in")
        pt, fmtp = usable[0]
        found.append(Want(index, media.kind, mid, pt, codec, fmtp))
    if not any(w.kind == "video" for w in found):
        raise SdpError("the offer receives no video")
    return found


def _candidates(media: Media) -> list[str]:
    return [line for line in media.lines if line.startswith("a=candidate:")]


FEEDBACK = ("nack", "nack pli", "ccm fir")  # what both sides act on without header extensions


def _codec_lines(media: Media, pt: int) -> list[str]:
    lines = [line for line in media.lines if line.startswith((f"a=rtpmap:{pt} ", f"a=fmtp:{pt} "))]
    feedback = [value.split(" ", 1)[1] for value in media.attrs("rtcp-fb") if value.startswith(f"{pt} ")]
    return lines + [f"a=rtcp-fb:{pt} {fb}" for fb in feedback if fb in FEEDBACK]


def bridge(offer: Sdp, chosen: list[Want], janus: Sdp) -> tuple[str, str]:
    """(the answer for the viewer, the answer for Janus's offer), Janus's m-lines being `chosen` in order."""
    if len(janus.media) != len(chosen):
        raise SdpError(f"the SFU offered {len(janus.media)} streams for {len(chosen)} asked")
    ours = {w.index: (w, j) for w, j in zip(chosen, janus.media, strict=True)}
    first = janus.media[0]
    for_viewer = ["v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0",
                  "a=group:BUNDLE " + " ".join(w.mid for w in chosen),
                  f"a=fingerprint:{janus.attr(first, 'fingerprint')}", "a=ice-lite", "a=msid-semantic: WMS *"]
    fingerprint = offer.attr(offer.media[chosen[0].index], "fingerprint")
    if fingerprint is None:
        raise SdpError("the offer has no a=fingerprint (DTLS-SRTP is required)")
    for_janus = ["v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0",
                 "a=group:BUNDLE " + " ".join(j.attr("mid") or "" for j in janus.media), f"a=fingerprint:{fingerprint}"]
    for index, media in enumerate(offer.media):
        if index not in ours:  # refused: port 0, the same kind and protocol
            for_viewer += [" ".join([media.line.split(" ")[0], "0", *media.line.split(" ")[2:]]),
                           *[f"a=mid:{m}" for m in ([media.attr("mid")] if media.attr("mid") else [])], "a=inactive"]
            continue
        want, theirs = ours[index]
        if theirs.kind != want.kind:
            raise SdpError(f"the SFU offered {theirs.kind} where {want.kind} was asked")
        ssrc = [line for line in theirs.lines if line.startswith("a=ssrc:")][:1]
        msid = [line for line in theirs.lines if line.startswith("a=msid:")][:1]
        for_viewer += [f"m={want.kind} 9 UDP/TLS/RTP/SAVPF {want.pt}", "c=IN IP4 0.0.0.0", f"a=mid:{want.mid}",
                       "a=sendonly", "a=rtcp-mux",
                       f"a=ice-ufrag:{janus.attr(theirs, 'ice-ufrag')}", f"a=ice-pwd:{janus.attr(theirs, 'ice-pwd')}",
                       "a=setup:passive", *_codec_lines(media, want.pt), *msid, *ssrc,
                       *_candidates(theirs), "a=end-of-candidates"]
        janus_pt = next((pt for pt, name, _ in _codecs(theirs) if name == want.codec), want.pt)
        for_janus += [f"m={want.kind} 9 UDP/TLS/RTP/SAVPF {janus_pt}", "c=IN IP4 0.0.0.0",
                      f"a=mid:{theirs.attr('mid')}", "a=recvonly", "a=rtcp-mux",
                      f"a=ice-ufrag:{offer.attr(media, 'ice-ufrag')}", f"a=ice-pwd:{offer.attr(media, 'ice-pwd')}",
                      "a=setup:active", *_codec_lines(theirs, janus_pt), *_candidates(media)]
    return "\r\n".join(for_viewer) + "\r\n", "\r\n".join(for_janus) + "\r\n"


def received_streams(answer: str) -> list[tuple[str, str, str]]:
    """(mid, kind, codec) of each stream an SFU's answer to a publisher takes (port not 0)."""
    found = []
    for media in parse(answer).media:
        mid = media.attr("mid")
        codecs = [name for _, name, _ in _codecs(media) if name not in ("rtx", "red", "ulpfec")]
        if media.kind in ("audio", "video") and media.line.split(" ")[1] != "0" and mid is not None and codecs:
            found.append((mid, media.kind, codecs[0]))
    return found


def camera_stalled(events: list[dict[str, Any]], camera_mid: str | None) -> bool | None:
    """What Janus's `media` events say of a publisher's camera: stopped (True), arriving again (False), or nothing.

    Janus sends one when a stream has carried nothing for its `no_media_timer` and when it resumes;
    the last event about the camera's m-line decides.
    """
    news = None
    for event in events:
        if event.get("janus") == "media" and event.get("type") == "video" and (
                camera_mid is None or str(event.get("mid", camera_mid)) == camera_mid):
            news = not bool(event.get("receiving", True))
    return news
