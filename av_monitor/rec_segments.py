"""fMP4 fragment splitting, atomic segment files and the HLS media playlist of a recording."""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

PLAYLIST_NAME = "index.m3u8"


class FragmentSplitter(io.RawIOBase):
    """Write-only file the mp4 muxer writes into; emits the init segment and each moof+mdat fragment.

    With `movflags=frag_keyframe+empty_moov+default_base_moof` the muxer writes ftyp+moov first and then
    one moof+mdat pair per video keyframe. A fragment is complete once its mdat box is complete, so the
    segment can be closed and hashed at that moment (nothing later rewrites it: the output is not seekable).
    """

    def __init__(self, on_init: Callable[[bytes], None], on_fragment: Callable[[bytes], None]) -> None:
        super().__init__()
        self._buf = bytearray()
        self._init = bytearray()
        self._fragment = bytearray()
        self._on_init = on_init
        self._on_fragment = on_fragment

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._buf += data
        self._drain()
        return len(data)

    def _drain(self) -> None:
        while len(self._buf) >= 8:
            size, kind = struct.unpack(">I4s", self._buf[:8])
            if size == 1:
                if len(self._buf) < 16:
                    return
                size = struct.unpack(">Q", self._buf[8:16])[0]
            if size < 8:
                raise ValueError("malformed MP4 box from the muxer")
            if len(self._buf) < size:
                return
            box = bytes(self._buf[:size])
            del self._buf[:size]
            self._box(kind, box)

    def _box(self, kind: bytes, box: bytes) -> None:
        if kind in (b"ftyp", b"moov"):
            self._init += box
            if kind == b"moov":
                self._on_init(bytes(self._init))
        elif kind in (b"styp", b"sidx", b"moof"):
            self._fragment += box
        elif kind == b"mdat":
            self._fragment += box
            fragment, self._fragment = bytes(self._fragment), bytearray()
            self._on_fragment(fragment)
        # mfra (random-access index written on close) is not part of any HLS segment.


def write_atomic(path: Path, data: bytes, *, fsync: bool = True) -> None:
    """Write `data` to `path` through a temporary name so readers never see a partial file."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        if fsync:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)


def sha256_hex(data: bytes) -> str:
    """Hex SHA-256 of `data`."""
    return hashlib.sha256(data).hexdigest()


@dataclass
class PlaylistEntry:
    """One media segment line of the playlist."""

    name: str
    duration: float
    started_at: datetime
    init_name: str
    discontinuity: bool


class Playlist:
    """HLS media playlist (fMP4, EXT-X-MAP per run), rewritten atomically after every closed segment."""

    def __init__(self, path: Path, *, target_seconds: float) -> None:
        self.path = path
        self.entries: list[PlaylistEntry] = []
        self.ended = False
        self._target = max(1, math.ceil(target_seconds))

    def add(self, entry: PlaylistEntry) -> None:
        """Append a closed segment and rewrite the file."""
        self.entries.append(entry)
        self.write()

    def finish(self) -> None:
        """Mark the recording complete (EXT-X-ENDLIST)."""
        self.ended = True
        self.write()

    def render(self) -> str:
        """The playlist text."""
        target = max([self._target] + [round(e.duration) for e in self.entries])
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:7",
            f"#EXT-X-TARGETDURATION:{target}",
            "#EXT-X-MEDIA-SEQUENCE:0",
            f"#EXT-X-PLAYLIST-TYPE:{'VOD' if self.ended else 'EVENT'}",
            "#EXT-X-INDEPENDENT-SEGMENTS",
        ]
        current_map = None
        for e in self.entries:
            if e.discontinuity and current_map is not None:
                lines.append("#EXT-X-DISCONTINUITY")
            if e.init_name != current_map:
                lines.append(f'#EXT-X-MAP:URI="{e.init_name}"')
                current_map = e.init_name
            lines.append("#EXT-X-PROGRAM-DATE-TIME:" + e.started_at.isoformat(timespec="milliseconds"))
            lines.append(f"#EXTINF:{e.duration:.3f},")
            lines.append(e.name)
        if self.ended:
            lines.append("#EXT-X-ENDLIST")
        return "\n".join(lines) + "\n"

    def write(self) -> None:
        """Rewrite the playlist atomically (no fsync: it can be rebuilt from the segments)."""
        write_atomic(self.path, self.render().encode(), fsync=False)

    @classmethod
    def load(cls, path: Path, *, target_seconds: float) -> Playlist:
        """Read a playlist this module wrote (to continue a recording after a restart)."""
        playlist = cls(path, target_seconds=target_seconds)
        if not path.exists():
            return playlist
        init_name, discontinuity, started, duration = "", False, None, 0.0
        for line in path.read_text().splitlines():
            if line == "#EXT-X-DISCONTINUITY":
                discontinuity = True
            elif m := re.match(r'#EXT-X-MAP:URI="([^"]+)"', line):
                init_name = m.group(1)
            elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
                started = datetime.fromisoformat(line.split(":", 1)[1])
            elif line.startswith("#EXTINF:"):
                duration = float(line[len("#EXTINF:"):].rstrip(","))
            elif line == "#EXT-X-ENDLIST":
                playlist.ended = True
            elif line and not line.startswith("#") and started is not None:
                playlist.entries.append(PlaylistEntry(line, duration, started, init_name, discontinuity))
                discontinuity = False
        return playlist
