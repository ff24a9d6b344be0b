"""The SDP bridge (sfu.sdp) on hand-built offers: a Chromium-like viewer offer and Janus's Streaming offer."""

from __future__ import annotations

import pytest

from sfu import sdp

VIEWER = "\r\n".join([
    "v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0 1 2", "a=msid-semantic: WMS",
    "m=video 9 UDP/TLS/RTP/SAVPF 96 104 107 108", "c=IN IP4 0.0.0.0", "a=mid:0", "a=recvonly", "a=rtcp-mux",
    "a=ice-ufrag:vwUF", "a=ice-pwd:viewerpasswordviewerpw", "a=setup:actpass",
    "a=fingerprint:sha-256 AA:BB", "a=rtpmap:96 VP8/90000", "a=rtcp-fb:96 nack", "a=rtpmap:104 H264/90000",
    "a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f",
    # 107 is rtx here, H.264 in Janus's own numbering: the mountpoint must use the viewer's 108
    "a=rtpmap:107 rtx/90000", "a=fmtp:107 apt=104", "a=rtpmap:108 H264/90000",
    "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
    "a=rtcp-fb:108 nack", "a=rtcp-fb:108 nack pli", "a=rtcp-fb:108 transport-cc",
    "a=candidate:1 1 udp 2122260223 192.0.2.9 50000 typ host",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=mid:1", "a=recvonly", "a=rtcp-mux",
    "a=ice-ufrag:vwUF", "a=ice-pwd:viewerpasswordviewerpw", "a=setup:actpass", "a=fingerprint:sha-256 AA:BB",
    "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;useinbandfec=1",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0", "a=mid:2", "a=sctp-port:5000", ""])


def janus_offer(video_pt: int = 108, audio_pt: int = 111) -> str:
    return "\r\n".join([
        "v=0", "o=- 9 1 IN IP4 192.0.2.2", "s=Mountpoint", "t=0 0", "a=group:BUNDLE v0 a1",
        "a=fingerprint:sha-256 JJ:NN", "a=ice-lite",
        f"m=video 9 UDP/TLS/RTP/SAVPF {video_pt}", "c=IN IP4 192.0.2.2", "a=sendonly", "a=mid:v0",
        "a=ice-ufrag:jnUF", "a=ice-pwd:januspasswordjanuspwd", "a=setup:actpass",
        f"a=rtpmap:{video_pt} H264/90000", f"a=fmtp:{video_pt} profile-level-id=42e01f;packetization-mode=1",
        f"a=rtcp-fb:{video_pt} nack", f"a=rtcp-fb:{video_pt} nack pli", "a=msid:janus janusv0",
        "a=ssrc:1111 cname:janus", "a=candidate:1 1 udp 2015363327 192.0.2.2 21000 typ host",
        f"m=audio 9 UDP/TLS/RTP/SAVPF {audio_pt}", "c=IN IP4 192.0.2.2", "a=sendonly", "a=mid:a1",
        "a=ice-ufrag:jnUF", "a=ice-pwd:januspasswordjanuspwd", "a=setup:actpass",
        f"a=rtpmap:{audio_pt} opus/48000/2", "a=ssrc:2222 cname:janus",
        "a=candidate:1 1 udp 2015363327 192.0.2.2 21000 typ host", ""])


def test_the_mountpoint_takes_the_viewers_payload_types_not_janus_defaults() -> None:
    wants = sdp.wants(sdp.parse(VIEWER), "h264")
    assert [(w.kind, w.mid, w.pt, w.codec) for w in wants] == [("video", "0", 108, "h264"), ("audio", "1", 111, "opus")]
    assert wants[0].fmtp is not None and "packetization-mode=1" in wants[0].fmtp
    assert sdp.wants(sdp.parse(VIEWER), "vp8")[0].pt == 96  # the low layer (wall tiles) is VP8


def test_each_side_gets_the_others_ice_and_dtls_with_the_right_roles() -> None:
    offer = sdp.parse(VIEWER)
    wants = sdp.wants(offer, "h264")
    for_viewer, for_janus = sdp.bridge(offer, wants, sdp.parse(janus_offer()))
    viewer = sdp.parse(for_viewer)
    assert "a=ice-lite" in viewer.session and "a=group:BUNDLE 0 1" in viewer.session
    assert "a=fingerprint:sha-256 JJ:NN" in viewer.session
    video, audio, data = viewer.media
    assert video.line == "m=video 9 UDP/TLS/RTP/SAVPF 108" and video.attr("mid") == "0"
    assert video.attr("ice-ufrag") == "jnUF" and video.attr("setup") == "passive" and video.flag("sendonly")
    assert video.attrs("rtcp-fb") == ["108 nack", "108 nack pli"]  # transport-cc needs an extension not sent
    assert video.attrs("ssrc") == ["1111 cname:janus"]
    assert any(line.startswith("a=candidate:") and "192.0.2.2" in line for line in video.lines)
    assert audio.line == "m=audio 9 UDP/TLS/RTP/SAVPF 111" and audio.attr("mid") == "1"
    assert data.line.split(" ")[1] == "0"  # the data channel is refused, its mid kept
    janus = sdp.parse(for_janus)
    assert "a=fingerprint:sha-256 AA:BB" in janus.session and "a=group:BUNDLE v0 a1" in janus.session
    jv, ja = janus.media
    assert jv.attr("mid") == "v0" and jv.attr("setup") == "active" and jv.flag("recvonly")
    assert jv.attr("ice-ufrag") == "vwUF" and jv.attr("ice-pwd") == "viewerpasswordviewerpw"
    assert jv.line.endswith(" 108") and ja.attr("mid") == "a1"
    assert any("192.0.2.9" in line for line in jv.lines)  # the viewer's candidates


@pytest.mark.parametrize(("change", "field", "words"), [
    (lambda s: s.replace("a=rtpmap:108 H264/90000", "a=rtpmap:108 VP9/90000"), "sdp", "H.264 with packetization"),
    (lambda s: s.replace("a=mid:0\r\n", ""), "sdp", "no a=mid"),
    (lambda s: s.replace("v=0", "v=1", 1), "sdp", "v=0"),
    (lambda s: s.replace("m=video 9", "m=video 0"), "sdp", "receives no video"),
])
def test_offers_the_sfu_cannot_serve_are_refused_with_the_reason(change, field, words) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(sdp.SdpError) as caught:
        sdp.wants(sdp.parse(change(VIEWER)), "h264")
    assert caught.value.field == field and words in str(caught.value)


def test_a_missing_fingerprint_and_a_short_janus_offer_are_refused() -> None:
    offer = sdp.parse(VIEWER.replace("a=fingerprint:sha-256 AA:BB\r\n", ""))
    with pytest.raises(sdp.SdpError, match="fingerprint"):
        sdp.bridge(offer, sdp.wants(offer, "h264"), sdp.parse(janus_offer()))
    offer = sdp.parse(VIEWER)
    short = janus_offer().split("m=audio")[0]
    with pytest.raises(sdp.SdpError, match="offered 1 streams for 2"):
        sdp.bridge(offer, sdp.wants(offer, "h264"), sdp.parse(short))


def test_the_publishers_streams_are_read_from_janus_answer() -> None:
    answer = janus_offer().replace("a=sendonly", "a=recvonly")
    assert sdp.received_streams(answer) == [("v0", "video", "h264"), ("a1", "audio", "opus")]
