"""Playback, verify and retention read only what the recorder wrote, and play only recordings that verify.

Each test plants one form an insider with write access to the recordings folder could use: a playlist
line or init map leaving the folder, an absolute path, a link in place of a segment, a linked room or
recording folder, an edited segment (with its mtime put back). Playback answers 409 naming
`recording_id` (ledgered `av.playback_refused`), never the planted file's bytes.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from av_monitor import playback_views, rec_verify, recordings
from av_monitor.rec_segments import PLAYLIST_NAME
from config.settings import Settings, get_settings
from tests.api_support import app_client, bearer
from tests.av_monitor.recording_support import ROOM, kinds, ledger_segments

SECRET = b"THE-SIGNING-KEY-0123456789"


def _plant_secret(base: Path) -> Path:
    secret = base.parent / "secret.key"
    secret.write_bytes(SECRET)
    return secret


def _refused(client, url: str, h: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    r = client.get(url, headers=h)
    assert r.status_code == 409, (url, r.status_code, r.text[:200])
    assert r.json()["detail"][0]["loc"][-1] == "recording_id" and SECRET not in r.content
    assert "verification" in r.json()["detail"][0]["msg"]


def _urls(rid: str) -> list[str]:
    return [f"/api/recordings/{ROOM}/{rid}/runs/0.mp4", f"/api/recordings/{ROOM}/{rid}/index.m3u8",
            f"/api/recordings/{ROOM}/{rid}/init-000.mp4"]


@pytest.mark.parametrize("line", ["../../../secret.key", "/etc/hostname", "seg-000001.m4s/../../../secret.key",
                                  "evil.m4s"])
def test_a_playlist_naming_a_file_outside_is_refused(setup, line: str) -> None:  # type: ignore[no-untyped-def]
    client, engine, folder, infos = setup
    base = folder.parent.parent
    _plant_secret(base)
    h = bearer(client, "super")
    text = (folder / PLAYLIST_NAME).read_text()
    (folder / PLAYLIST_NAME).write_text(text.replace(f"\n{infos[0].path.name}\n", f"\n{line}\n", 1))
    for url in _urls(folder.name):
        _refused(client, url, h)
    report = client.post(f"/api/recordings/{ROOM}/{folder.name}/verify", headers=h).json()
    assert not report["ok"] and any(line in p for p in report["playlist_problems"]), report
    refusals = kinds(engine, "av.playback_refused")
    assert [r["via"] for r in refusals] == ["mp4", "hls", "hls"] and all("playlist" in str(r["problems"])
                                                                         for r in refusals)
    assert kinds(engine, "av.view_recording") == []  # a refused recording was never viewed
    [listed] = client.get(f"/api/rooms/{ROOM}/recordings", headers=h).json()
    assert listed["damaged"] is True


def test_an_init_map_outside_is_refused(setup) -> None:  # type: ignore[no-untyped-def]
    client, _, folder, _ = setup
    _plant_secret(folder.parent.parent)
    text = (folder / PLAYLIST_NAME).read_text().replace('URI="init-000.mp4"', 'URI="../../../secret.key"')
    (folder / PLAYLIST_NAME).write_text(text)
    _refused(client, f"/api/recordings/{ROOM}/{folder.name}/runs/0.mp4", bearer(client, "admin"))


def test_a_link_in_place_of_a_segment_is_never_read(setup) -> None:  # type: ignore[no-untyped-def]
    client, _, folder, infos = setup
    secret = _plant_secret(folder.parent.parent)
    name = infos[1].path.name
    (folder / name).unlink()
    (folder / name).symlink_to(secret)
    h = bearer(client, "coord")
    r = client.get(f"/api/recordings/{ROOM}/{folder.name}/{name}", headers=h)
    assert r.status_code == 404 and SECRET not in r.content
    _refused(client, f"/api/recordings/{ROOM}/{folder.name}/runs/0.mp4", h)
    report = client.post(f"/api/recordings/{ROOM}/{folder.name}/verify", headers=h).json()
    assert name in report["extra"] and name in report["missing"] and not report["ok"]


def test_an_edited_segment_is_refused_even_with_its_mtime_put_back(setup) -> None:  # type: ignore[no-untyped-def]
    client, engine, folder, infos = setup
    h = bearer(client, "super")
    url = f"/api/recordings/{ROOM}/{folder.name}/runs/0.mp4"
    assert client.get(url, headers=h).status_code == 200  # verified and hashed into the cache
    target = folder / infos[0].path.name
    before = target.stat()
    data = bytearray(target.read_bytes())
    data[-10] ^= 0x55
    target.write_bytes(bytes(data))
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert target.stat().st_size == before.st_size and target.stat().st_mtime_ns == before.st_mtime_ns
    _refused(client, url, h)
    assert "altered" in str(kinds(engine, "av.playback_refused")[0]["problems"])


def test_the_playback_page_says_it_is_not_verified(setup, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    client, engine, folder, infos = setup
    (folder / infos[2].path.name).unlink()
    from tests.api.test_pages import login

    assert login(client, "super").status_code == 303
    page = client.get(f"/recordings/{ROOM}/{folder.name}")
    assert page.status_code == 409 and "未通过完整性校验" in page.text and infos[2].path.name in page.text
    assert "<video" not in page.text
    assert [r["via"] for r in kinds(engine, "av.playback_refused")] == ["page"]


def test_linked_room_or_recording_folders_are_not_recordings(tmp_path: Path, engine: Engine,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             recorded) -> None:  # type: ignore[no-untyped-def]
    source, rid, infos = recorded
    outside = tmp_path / "outside"
    shutil.copytree(source / rid, outside / ROOM / rid)
    base = tmp_path / "recordings"
    (base / "MAIN-R2").mkdir(parents=True)
    (base / ROOM).symlink_to(outside / ROOM)  # the whole room folder
    (base / "MAIN-R2" / rid).symlink_to(outside / ROOM / rid)  # one recording folder
    assert recordings.load(ROOM, rid, base=base) is None and recordings.load("MAIN-R2", rid, base=base) is None
    assert recordings.list_room(ROOM, base=base) == [] and recordings.list_room("MAIN-R2", base=base) == []
    with Session(engine) as session:
        ledger_segments(session, infos)
        assert not rec_verify.verify(session, room=ROOM, recording_id=rid, base=base).ok
        settings = Settings(recording_directory=base, recording_retention_days=1)
        assert recordings.sweep(session, now=infos[-1].started_at.replace(year=2100), settings=settings)["removed"] == 0
    assert (outside / ROOM / rid / PLAYLIST_NAME).exists()  # retention never followed the links


def test_retention_hashes_only_the_recorders_files(tmp_path: Path, engine: Engine, recorded) -> None:  # type: ignore[no-untyped-def]
    source, rid, infos = recorded
    base = tmp_path / "recordings"
    folder = base / ROOM / rid
    shutil.copytree(source / rid, folder)
    secret = _plant_secret(base)
    last = sorted(p.name for p in folder.iterdir() if p.name.startswith("seg-"))[-1]
    (folder / last).unlink()
    (folder / last).symlink_to(secret)
    settings = Settings(recording_directory=base, recording_retention_days=1)
    with Session(engine) as session:
        assert recordings.sweep(session, now=infos[-1].started_at.replace(year=2100), settings=settings)["removed"] == 1
        session.commit()
    assert not folder.exists() and secret.read_bytes() == SECRET
    [entry] = kinds(engine, "av.retention")
    assert entry["segments"] == len(infos) - 1  # the link was neither counted nor hashed


def test_a_recording_being_written_plays_with_its_segment_in_flight(recorded, tmp_path: Path, engine: Engine,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The recorder renames a closed segment before the hub ledgers and lists it: that one is pending, not a fault."""
    source, rid, infos = recorded
    base = tmp_path / "recordings"
    folder = base / ROOM / rid
    shutil.copytree(source / rid, folder)
    last = infos[-1].path.name
    lines = [x for x in (folder / PLAYLIST_NAME).read_text().splitlines() if x not in ("#EXT-X-ENDLIST", last)]
    while lines[-1].startswith("#EXT"):  # the dropped segment's own tags
        lines.pop()
    (folder / PLAYLIST_NAME).write_text("\n".join(lines).replace("PLAYLIST-TYPE:VOD", "PLAYLIST-TYPE:EVENT") + "\n")
    (folder / "seg-999999.m4s.tmp").write_bytes(b"partial")
    monkeypatch.setenv("YIDI_RECORDING_DIRECTORY", str(base))
    monkeypatch.setattr(playback_views, "_logged", {})
    get_settings.cache_clear()
    try:
        with app_client(engine, monkeypatch) as client:
            with Session(engine) as session:
                ledger_segments(session, infos[:-1])
            h = bearer(client, "super")
            report = client.post(f"/api/recordings/{ROOM}/{rid}/verify", headers=h).json()
            assert report["ok"] and report["pending"] == [last] and report["extra"] == [], report
            assert client.get(f"/api/recordings/{ROOM}/{rid}/runs/0.mp4", headers=h).status_code == 200
            # Once finished, an unledgered segment is a fault again.
            (folder / PLAYLIST_NAME).write_text((folder / PLAYLIST_NAME).read_text() + "#EXT-X-ENDLIST\n")
            report = client.post(f"/api/recordings/{ROOM}/{rid}/verify", headers=h).json()
            assert not report["ok"] and report["unledgered"] == [last]
    finally:
        get_settings.cache_clear()
