"""The benchmarks' cameras: camera-like video encoded once, paced packet tracks, a publishing helper process.

A publisher sends pre-encoded packets (aiortc's sender packetizes an `av.Packet` without encoding),
so the cameras cost the benchmark process little and take less CPU from the service measured.
`Cameras` holds one encode of the main picture (640x480, 15 fps), the low layer a camera page sends
for wall tiles (320x240, 5 fps) and a 1 kHz Opus tone; `publish_rooms` is the helper process's body.
"""

from __future__ import annotations

import asyncio
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import httpx
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.av_monitor.crash_support import login, publish, terminal_of  # noqa: E402
from tests.av_monitor.media_support import OpusPacketTrack, opus_tone  # noqa: E402

WIDTH, HEIGHT, FPS = 640, 480, 15


def camera_picture(n: int, rng: np.random.Generator, background: np.ndarray) -> np.ndarray:
    """A yuv420p frame: textured static room, a moving figure, slow light change, per-frame noise."""
    luma = background.copy()
    x = int((WIDTH - 120) * (0.5 + 0.5 * np.sin(n / 25)))
    y = int((HEIGHT - 200) * (0.5 + 0.5 * np.sin(n / 40)))
    luma[y:y + 200, x:x + 120] = 60 + (n % 30)
    luma = luma.astype(np.int16) + rng.normal(0, 4, luma.shape).astype(np.int16) + int(8 * np.sin(n / 50))
    chroma = np.full((HEIGHT // 2, WIDTH), 128, dtype=np.uint8)
    return np.vstack([np.clip(luma, 0, 255).astype(np.uint8), chroma])


def encode_loop(seconds: int, bitrate: int, mime: str = "video/VP8", *, width: int = WIDTH, fps: int = FPS
                ) -> list[bytes]:
    """`seconds` of camera-like video as VP8 or H.264 packets (a keyframe every 2 s, so any loop start decodes).

    A smaller `width` or `fps` (the low layer a camera page sends for wall tiles) scales the same scene.
    """
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    background = (110 + 40 * np.sin(xx / 17.0) * np.cos(yy / 23.0) + (xx // 80 % 2) * 20).astype(np.uint8)
    codec = av.CodecContext.create("libvpx" if mime == "video/VP8" else "libx264", "w")
    height = HEIGHT * width // WIDTH
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.framerate, codec.time_base = Fraction(fps), Fraction(1, fps)
    codec.bit_rate, codec.gop_size = bitrate, 2 * fps
    codec.options = ({"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"} if mime == "video/VP8" else
                     # as a browser sends it: baseline, no B-frames, SPS/PPS before every IDR
                     {"preset": "veryfast", "tune": "zerolatency", "profile": "baseline",
                      "x264-params": f"keyint={2 * fps}:min-keyint={2 * fps}:scenecut=0:repeat-headers=1"})
    packets: list[bytes] = []
    step = FPS // fps
    for n in range(seconds * fps):
        frame = av.VideoFrame.from_ndarray(camera_picture(n * step, rng, background), format="yuv420p")
        if width != WIDTH:
            frame = frame.reformat(width=width, height=height)
        frame.pts = n
        packets += [bytes(p) for p in codec.encode(frame)]
    packets += [bytes(p) for p in codec.encode(None)]
    return packets


class PacketVideoTrack(MediaStreamTrack):
    """Paced 15 fps video from pre-encoded packets, looped."""

    kind = "video"

    def __init__(self, packets: list[bytes], fps: int = FPS) -> None:
        super().__init__()
        self.packets, self.fps, self.sent, self._start = packets, fps, 0, 0.0

    async def recv(self) -> av.Packet:
        if not self._start:
            self._start = time.monotonic()
        await asyncio.sleep(max(0.0, self._start + self.sent / self.fps - time.monotonic()))
        packet = av.Packet(self.packets[self.sent % len(self.packets)])
        packet.pts, packet.time_base = self.sent * 90_000 // self.fps, Fraction(1, 90_000)
        self.sent += 1
        return packet


class Cameras:
    """One encode of every camera's media, shared by all publishers (each gets its own paced tracks)."""

    def __init__(self, *, codec: str, bitrate: int, low_bitrate: int, low_layer: bool) -> None:
        self.codec = codec
        self.video = encode_loop(10, bitrate, codec)
        self.low = encode_loop(10, low_bitrate, codec, width=320, fps=5) if low_layer else []
        self.tone = opus_tone(10 * 50)

    def tracks(self) -> list[MediaStreamTrack]:
        """A new publisher's tracks: camera, microphone and, when sent, the low layer (the second video)."""
        tracks: list[MediaStreamTrack] = [PacketVideoTrack(self.video), OpusPacketTrack(self.tone)]
        if self.low:
            tracks.append(PacketVideoTrack(self.low, fps=5))
        return tracks


async def publish_rooms(cameras: Cameras, base: str, rooms: list[str]) -> None:
    """The helper process: publish `rooms` to the service at `base` until stdin closes, then unpublish."""
    sessions: list[tuple[RTCPeerConnection, str, dict[str, str]]] = []
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for room in rooms:
            headers = await login(client, terminal_of(room))
            pc, url = await publish(client, headers, cameras.tracks(), room, video_codec=cameras.codec)
            sessions.append((pc, url, headers))
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        for pc, url, headers in sessions:
            await client.delete(url, headers=headers)
            await pc.close()
