"""Which files of a recordings folder playback, verify and retention may touch, and their cached hashes.

Anyone with write access to the recordings folder (a restored backup, shared storage) can edit a
playlist or plant a link, so nothing read from the folder is trusted as a path: a file is used only
when its name is one the recorder writes (`index.m3u8`, `init-NNN.mp4`, `seg-NNNNNN.m4s`), it is a
regular file and not a symbolic link, and its resolved path lies inside its recording's folder, which
itself lies inside the recordings root.

Hashes are cached by the file's identity and change stamps (inode, size, mtime and ctime in ns):
ctime cannot be set back by a user, so an edited file is always hashed again, while a long
recording being played is not re-read on every range request.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import threading
from collections import OrderedDict
from pathlib import Path

PLAYLIST = "index.m3u8"
ROOM_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
RECORDING_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
INIT_FILE = re.compile(r"^init-\d{3}\.mp4$")
SEGMENT_FILE = re.compile(r"^seg-\d{6}\.m4s$")
MEDIA_FILE = re.compile(r"^(init-\d{3}\.mp4|seg-\d{6}\.m4s)$")
_CHUNK = 1 << 20
_CACHE_SIZE = 200_000
_hashes: OrderedDict[tuple[str, int, int, int, int], str] = OrderedDict()
_lock = threading.Lock()


def recorder_name(name: str) -> bool:
    """True for the names the recorder writes: the playlist, init segments and media segments."""
    return name == PLAYLIST or MEDIA_FILE.match(name) is not None


def recording_folder(base: Path, room: str, recording_id: str) -> Path | None:
    """The recording's folder when both names are valid and it resolves inside `base`, else None."""
    if not ROOM_CODE.match(room) or not RECORDING_ID.match(recording_id):
        return None
    folder = base / room / recording_id
    try:
        inside = folder.resolve(strict=True).parent.parent == base.resolve(strict=True)
    except OSError:
        return None
    return folder if inside and not folder.is_symlink() and not (base / room).is_symlink() else None


def own_file(folder: Path, name: str) -> Path | None:
    """`folder / name` when it is a regular file (not a link) with a name the recorder writes, else None.

    The name has no separator and is not `..`, so a regular file of that name lies in `folder` itself;
    `folder` comes from `recording_folder`, which checked that it lies inside the root.
    """
    if not recorder_name(name):
        return None
    path = folder / name
    try:
        return path if stat.S_ISREG(path.lstat().st_mode) else None
    except OSError:
        return None


def scan(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """The recorder's own files of `folder` by name, and the entries never to read (other names, links, folders)."""
    own: dict[str, Path] = {}
    foreign: list[str] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith(".tmp") and recorder_name(entry.name[: -len(".tmp")]):
                continue  # the recorder's file being written (or left by a crash, removed when it resumes)
            if recorder_name(entry.name) and entry.is_file(follow_symlinks=False):
                own[entry.name] = folder / entry.name
            else:
                foreign.append(entry.name)
    return dict(sorted(own.items())), sorted(foreign)


def sha256(path: Path, *, cached: bool = True) -> str:
    """Hex SHA-256 of a file; `cached` reuses the last hash while the file's identity and stamps are unchanged."""
    st = os.stat(path, follow_symlinks=False)
    key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    if cached:
        with _lock:
            if key in _hashes:
                _hashes.move_to_end(key)
                return _hashes[key]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    value = digest.hexdigest()
    with _lock:
        _hashes[key] = value
        while len(_hashes) > _CACHE_SIZE:
            _hashes.popitem(last=False)
    return value
