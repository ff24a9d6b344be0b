"""Reading Janus's recordings (.mjr) while Janus writes them.

A .mjr file is `MJR00002`, a 2-byte length and a JSON header (`t`: a/v, `c`: codec, `u`: time of
the first frame in µs), then frames: `MEET`, a 4-byte time in ms since the recording started, a
2-byte length and the RTP packet as received (header rewritten to one continuous sequence). Janus
writes through stdio buffering, so the file's end may hold half a frame: the reader stops before it
and takes it on the next call.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

MAGIC = b"MJR00002"
FRAME = b"MEET"


class MjrError(ValueError):
    """The file is not a Janus recording this reader knows."""


@dataclass(frozen=True)
class MjrFrame:
    offset: int  # where the frame starts in the file
    millis: int  # ms since the recording started
    packet: bytes  # the RTP packet


class MjrReader:
    """Frames of one .mjr file, read as they are written, from `offset` on."""

    def __init__(self, path: Path, *, offset: int = 0) -> None:
        self.path = path
        self.offset = offset
        self.info: dict[str, Any] | None = None
        self._body = 0  # where the frames start
        self._file: BinaryIO | None = None

    def _header(self, data: bytes) -> bool:
        if len(data) < len(MAGIC) + 2:
            return False
        if not data.startswith(MAGIC):
            raise MjrError(f"{self.path.name} is not a Janus recording (MJR00002)")
        (size,) = struct.unpack_from("!H", data, len(MAGIC))
        end = len(MAGIC) + 2 + size
        if len(data) < end:
            return False
        self.info = json.loads(data[len(MAGIC) + 2:end])
        self._body = end
        self.offset = max(self.offset, end)
        return True

    def read(self, most: int = 4000) -> list[MjrFrame]:
        """The complete frames written since the last call (at most `most`)."""
        if self._file is None:
            try:
                self._file = open(self.path, "rb")  # noqa: SIM115 - kept open while the file grows
            except FileNotFoundError:
                return []
        if self.info is None:
            self._file.seek(0)
            if not self._header(self._file.read(64 * 1024)):
                return []
        self._file.seek(self.offset)
        data = self._file.read(most * 1600)
        frames: list[MjrFrame] = []
        at = 0
        while len(frames) < most and len(data) - at >= 10:
            if data[at:at + 4] != FRAME:
                raise MjrError(f"{self.path.name}: no frame header at byte {self.offset + at}")
            millis, size = struct.unpack_from("!IH", data, at + 4)
            if len(data) - at - 10 < size:
                break
            frames.append(MjrFrame(self.offset + at, millis, data[at + 10:at + 10 + size]))
            at += 10 + size
        self.offset += at
        return frames

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
