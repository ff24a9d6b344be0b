"""Recorded playback: a real two-run recording served as seekable MP4 runs and HLS, verified, kept or removed.

The recording is made once per module by `RoomRecorder` from generated tracks (a frame counter and
a tone, tests/av_monitor/media_support.py), with a reconnect in the middle; each test copies it
under its own recording_directory and ledgers its segments with `av_monitor.service.log_segment`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.jobs.bodies import BODIES
from api.jobs.runner import spec_for
from audit import query
from av_monitor import service
from av_monitor.rec_segments import PLAYLIST_NAME, Playlist, PlaylistEntry
from av_monitor.recorder import SegmentInfo
from config.settings import Settings, get_settings
from evaluation import service as draw_service
from evaluation.models import Seat
from tests.api_support import bearer
from tests.av_monitor.media_support import decode_bytes
from tests.av_monitor.recording_support import ROOM, kinds
from venues.models import Room


def _run_bytes(folder: Path, infos: list[SegmentInfo], run: int) -> bytes:
    inits = sorted({i.init_path for i in infos if i.init_path is not None})
    parts = [inits[run]] + [i.path.name for i in infos if i.init_path == inits[run]]
    return b"".join((folder / Path(p).name).read_bytes() for p in parts)


def test_run_mp4_is_init_plus_segments_and_decodes(setup) -> None:  # type: ignore[no-untyped-def]
    client, engine, folder, infos = setup
    rid = folder.name
    h = bearer(client, "super")
    for run, first in ((0, 0), (1, 1000)):
        expected = _run_bytes(folder, infos, run)
        r = client.get(f"/api/recordings/{ROOM}/{rid}/runs/{run}.mp4", headers=h)
        assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
        assert r.headers["accept-ranges"] == "bytes"
        assert int(r.headers["content-length"]) == len(expected) == len(r.content)
        assert r.content == expected
        decoded = decode_bytes(r.content)
        counters = [n for _, n, _ in decoded.video if n is not None]
        assert len(counters) > 15 and counters == sorted(counters) and counters[0] >= first
        assert len(decoded.audio) > 48_000
    r = client.get(f"/api/recordings/{ROOM}/{rid}/runs/2.mp4", headers=h)
    assert r.status_code == 404 and r.json()["detail"][0]["loc"][-1] == "number"
    r = client.get(f"/api/recordings/{ROOM}/{rid}/runs/x.mp4", headers=h)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "number"
    views = kinds(engine, "av.view_recording")
    assert [(v["actor"], v["recording_id"], v["via"]) for v in views] == [("user:super", rid, "mp4")]


def test_range_requests_return_the_exact_bytes(setup) -> None:  # type: ignore[no-untyped-def]
    client, engine, folder, infos = setup
    url = f"/api/recordings/{ROOM}/{folder.name}/runs/0.mp4"
    h = bearer(client, "coord")
    whole = _run_bytes(folder, infos, 0)
    size = len(whole)
    init = (folder / "init-000.mp4").stat().st_size
    seg0 = infos[0].path.stat().st_size
    # Across the init/first-segment boundary, and across the first/second segment boundary.
    for start, end in ((init - 10, init + 9), (init + seg0 - 100, init + seg0 + 99), (0, 0), (size - 1, size + 50)):
        r = client.get(url, headers={**h, "Range": f"bytes={start}-{end}"})
        assert r.status_code == 206, (start, end)
        last = min(end, size - 1)
        assert r.headers["content-range"] == f"bytes {start}-{last}/{size}"
        assert int(r.headers["content-length"]) == last - start + 1
        assert r.content == whole[start:last + 1]
    r = client.get(url, headers={**h, "Range": "bytes=-500"})
    assert r.status_code == 206 and r.content == whole[-500:]
    # A player reading in chunks reassembles the whole file.
    chunks = [client.get(url, headers={**h, "Range": f"bytes={o}-{o + 9999}"}).content for o in range(0, size, 10_000)]
    assert b"".join(chunks) == whole
    for bad in (f"bytes={size}-", f"bytes={size + 5}-{size + 9}", "bytes=50-10", "bytes=-0", "bytes=abc"):
        r = client.get(url, headers={**h, "Range": bad})
        assert r.status_code == 416, bad
        assert r.headers["content-range"] == f"bytes */{size}"
    # An If-Range naming another version gets the whole current file.
    r = client.get(url, headers={**h, "Range": "bytes=5-9", "If-Range": '"old"'})
    assert r.status_code == 200 and r.content == whole
    # Only the first opening is a view; seeking and buffering reads are not ledgered.
    assert len(kinds(engine, "av.view_recording")) == 1


def test_listing_hls_files_and_path_validation(setup) -> None:  # type: ignore[no-untyped-def]
    client, engine, folder, infos = setup
    rid = folder.name
    h = bearer(client, "admin")
    [rec] = client.get(f"/api/rooms/{ROOM}/recordings", headers=h).json()
    assert rec["recording_id"] == rid and rec["finished"] and rec["segments"] == len(infos)
    assert [r["segments"] for r in rec["runs"]] == [sum(i.init_path == p for i in infos)
                                                    for p in sorted({i.init_path for i in infos})]
    assert rec["gaps"] == 1 and rec["runs"][1]["gap_before"]
    assert rec["duration"] == pytest.approx(sum(i.duration for i in infos), abs=0.01)
    assert client.get("/api/rooms/MAIN-R2/recordings", headers=h).json() == []

    r = client.get(f"/api/recordings/{ROOM}/{rid}/index.m3u8", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert r.text == (folder / PLAYLIST_NAME).read_text() and "#EXT-X-ENDLIST" in r.text
    r = client.get(f"/api/recordings/{ROOM}/{rid}/{infos[1].path.name}", headers=h)
    assert r.status_code == 200 and r.content == infos[1].path.read_bytes()
    assert client.get(f"/api/recordings/{ROOM}/{rid}/init-001.mp4", headers=h).status_code == 200
    assert [v["via"] for v in kinds(engine, "av.view_recording")] == ["hls"]

    for url, status, name in ((f"/api/recordings/{ROOM}/{rid}/evil.txt", 404, "name"),
                              (f"/api/recordings/{ROOM}/{rid}/%2e%2e", 404, "name"),
                              (f"/api/recordings/.../{rid}/index.m3u8", 422, "room"),
                              (f"/api/recordings/{ROOM}/a.b/index.m3u8", 422, "recording_id"),
                              (f"/api/recordings/{ROOM}/nope/index.m3u8", 404, "recording_id"),
                              (f"/api/recordings/NOPE/{rid}/index.m3u8", 404, "room")):
        r = client.get(url, headers=h)
        assert r.status_code == status, url
        assert r.json()["detail"][0]["loc"][-1] == name, url
    # An encoded slash is decoded before routing: the extra path level matches no route.
    assert client.get(f"/api/recordings/{ROOM}/..%2f..%2f{rid}/index.m3u8", headers=h).status_code == 404


def test_verify_passes_then_names_what_changed(setup) -> None:  # type: ignore[no-untyped-def]
    client, engine, folder, infos = setup
    h = bearer(client, "super")
    url = f"/api/recordings/{ROOM}/{folder.name}/verify"

    def verify() -> dict[str, object]:
        r = client.post(url, headers=h)
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    ok = verify()
    assert ok["ok"] and ok["checked"] == len(infos) and ok["playlist_ok"]
    assert ok["discontinuities"] == [next(i.index for i in infos if i.gap_before)]
    assert sorted(ok["init_files"]) == ["init-000.mp4", "init-001.mp4"]  # type: ignore[call-overload]

    altered = folder / infos[1].path.name
    data = bytearray(altered.read_bytes())
    data[len(data) // 2] ^= 0xFF
    altered.write_bytes(bytes(data))
    report = verify()
    assert not report["ok"] and report["altered"] == [altered.name] and report["missing"] == []

    (folder / infos[2].path.name).unlink()
    (folder / "seg-000099.m4s").write_bytes(b"\0" * 100)
    (folder / "notes.txt").write_text("x")
    report = verify()
    assert report["missing"] == [infos[2].path.name] and report["unledgered"] == ["seg-000099.m4s"]
    assert report["extra"] == ["notes.txt"] and report["checked"] == len(infos) - 1

    text = (folder / PLAYLIST_NAME).read_text().replace(f"{infos[0].path.name}\n", "")
    (folder / PLAYLIST_NAME).write_text(text)
    assert verify()["playlist_ok"] is False

    # The init segments are ledgered with the segments: a changed one is named too.
    init = folder / "init-001.mp4"
    init.write_bytes(init.read_bytes() + b"\0")
    assert "init-001.mp4" in verify()["altered"]  # type: ignore[operator]
    logged = kinds(engine, "av.verify")
    assert [v["ok"] for v in logged] == [True, False, False, False, False] and logged[1]["altered"] == [altered.name]
    assert all(v["actor"] == "user:super" and v["subject"] == f"room:{ROOM}" for v in logged)


def test_scope_and_roles(setup) -> None:  # type: ignore[no-untyped-def]
    client, engine, folder, _ = setup
    rid = folder.name
    urls = [f"/api/rooms/{ROOM}/recordings", f"/api/recordings/{ROOM}/{rid}/index.m3u8",
            f"/api/recordings/{ROOM}/{rid}/runs/0.mp4"]
    for user, status in (("coord_auxa", 404), ("super_off", 404), ("expert1", 403), ("term1", 403),
                         ("coord", 200), ("super", 200)):
        h = bearer(client, user)
        for url in urls:
            assert client.get(url, headers=h).status_code == status, (user, url)
        assert client.post(f"/api/recordings/{ROOM}/{rid}/verify", headers=h).status_code == status
    assert client.get(urls[1]).status_code == 401
    denied = [d for d in kinds(engine, "auth.denied") if d.get("why") == "out of scope"]
    assert {d["actor"] for d in denied} == {"user:coord_auxa", "user:super_off"}
    assert {v["actor"] for v in kinds(engine, "av.view_recording")} == {"user:coord", "user:super"}


def _fake(base: Path, rid: str, ended: datetime, *, finished: bool, age_files: bool) -> Path:
    folder = base / ROOM / rid
    folder.mkdir(parents=True)
    playlist = Playlist(folder / PLAYLIST_NAME, target_seconds=2)
    (folder / "init-000.mp4").write_bytes(b"init" * 10)
    for n in range(3):
        (folder / f"seg-{n:06d}.m4s").write_bytes(bytes([n]) * (100 + n))
        playlist.entries.append(PlaylistEntry(f"seg-{n:06d}.m4s", 2.0, ended - timedelta(seconds=6 - 2 * n),
                                              "init-000.mp4", False))
    playlist.ended = finished
    playlist.write()
    if age_files:
        old = (ended - timedelta(days=1)).timestamp()
        for p in [*folder.iterdir(), folder]:
            os.utime(p, (old, old))
    return folder


def test_retention_removes_only_old_finished_recordings(tmp_path: Path, engine: Engine) -> None:
    now = datetime(2041, 6, 1, tzinfo=UTC)
    settings = Settings(recording_directory=tmp_path, recording_retention_days=5479)
    old = now - timedelta(days=5480)
    removed = _fake(tmp_path, "old-finished", old, finished=True, age_files=False)
    abandoned = _fake(tmp_path, "old-abandoned", old, finished=False, age_files=True)
    writing = _fake(tmp_path, "old-but-writing", old, finished=False, age_files=False)
    recent = _fake(tmp_path, "recent", now - timedelta(days=5478), finished=True, age_files=True)
    first_hash = hashlib.sha256((removed / "seg-000000.m4s").read_bytes()).hexdigest()
    last_hash = hashlib.sha256((removed / "seg-000002.m4s").read_bytes()).hexdigest()
    size = sum(p.stat().st_size for p in removed.iterdir())
    os.utime(writing / PLAYLIST_NAME, (now.timestamp() - 3600, now.timestamp() - 3600))
    from av_monitor import recordings

    with Session(engine) as session:
        assert recordings.sweep(session, now=now, settings=settings) == {"removed": 2, "kept_open": 1, "failed": 0}
        session.commit()
    assert not removed.exists() and not abandoned.exists() and writing.exists() and recent.exists()
    logged = sorted(kinds(engine, "av.retention"), key=lambda e: str(e["recording_id"]))
    assert [e["recording_id"] for e in logged] == ["old-abandoned", "old-finished"]
    fin = logged[1]
    assert fin["segments"] == 3 and fin["bytes"] == size and fin["subject"] == f"room:{ROOM}"
    assert fin["first_sha256"] == first_hash and fin["last_sha256"] == last_hash and fin["actor"] == "system"


def test_retention_job_is_scheduled_daily(tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = spec_for("recording.retention")
    assert spec is not None and spec.daily_at == time(3, 30) and spec.every_seconds is None
    monkeypatch.setenv("YIDI_RECORDING_DIRECTORY", str(tmp_path))
    monkeypatch.setenv("YIDI_RECORDING_RETENTION_DAYS", "1")
    get_settings.cache_clear()
    try:
        now = datetime.now(UTC)
        gone = _fake(tmp_path, "two-days", now - timedelta(days=2), finished=True, age_files=True)
        kept = _fake(tmp_path, "today", now - timedelta(hours=2), finished=True, age_files=False)
        with Session(engine) as session:
            assert BODIES["recording.retention"](session, now=now)["removed"] == 1
            session.commit()
        assert not gone.exists() and kept.exists()
    finally:
        get_settings.cache_clear()


def test_pages_list_play_and_ledger_the_view(setup, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from tests.api.test_pages import login

    client, engine, folder, infos = setup
    rid = folder.name
    alert_at = infos[2].started_at + timedelta(seconds=0.5)
    with Session(engine) as session:
        service.log_alert(session, room_code=ROOM, reason="stream stopped", session_id=None, seconds=3.0, at=alert_at)
        session.commit()
    assert login(client, "super").status_code == 303
    listing = client.get("/recordings").text
    assert rid in listing and f'href="/recordings/{ROOM}/{rid}"' in listing
    assert rid in client.get(f"/recordings?room={ROOM}").text
    assert rid not in client.get("/recordings?room=MAIN-R2").text
    assert client.get("/recordings?project=NOPE").status_code == 404
    # A project lists its seats' rooms' recordings within its window (drawn P1 sits in MAIN-R1).
    with Session(engine) as session:
        draw_service.draw(session, project_codes=["P1"], seed_hex="5eed", actor="user:coord")
        session.commit()
        seated = set(session.exec(select(Room.code).join(Seat, col(Seat.room_id) == col(Room.id))).all())
    for code in seated - {ROOM}:  # the same recording, as if made in the rooms where P1 sits
        shutil.copytree(folder, folder.parent.parent / code / rid)
    assert rid not in client.get("/recordings?project=P1").text  # recorded days after P1
    now = datetime.now(UTC)
    monkeypatch.setattr(query, "room_window", lambda project: (now - timedelta(hours=1), now + timedelta(hours=1)))
    assert rid in client.get("/recordings?project=P1").text

    page = client.get(f"/recordings/{ROOM}/{rid}")
    assert page.status_code == 200 and "录像回放" in page.text
    assert f'src="/api/recordings/{ROOM}/{rid}/runs/0.mp4"' in page.text and "runs/1.mp4" in page.text
    # The alert lies in run 0, two segments and half a second in; the gap seeks the start of run 1.
    offset = sum(i.duration for i in infos[:2]) + 0.5
    assert f'data-seek-run="0" data-seek-at="{round(offset, 2)}"' in page.text
    assert 'data-kind="gap"' in page.text and 'data-seek-run="1" data-seek-at="0.0"' in page.text
    assert "Recording playback" in client.get(f"/recordings/{ROOM}/{rid}?lang=en").text
    # The page's own video requests are part of the page's view.
    assert client.get(f"/api/recordings/{ROOM}/{rid}/runs/0.mp4", headers={"Range": "bytes=0-"}).status_code == 206
    assert [v["via"] for v in kinds(engine, "av.view_recording")] == ["page", "page"]
    assert client.get(f"/recordings/{ROOM}/a.b").status_code == 422
    assert client.get(f"/recordings/{ROOM}/missing").status_code == 404

    client.cookies.clear()
    assert login(client, "coord_auxa").status_code == 303
    assert client.get(f"/recordings/{ROOM}/{rid}").status_code == 404
    assert client.get(f"/recordings?room={ROOM}").status_code == 404
    assert f'href="/recordings/{ROOM}/' not in client.get("/recordings").text  # its own AUXA rooms only
    denied = [(d["actor"], d["subject"]) for d in kinds(engine, "auth.denied") if d.get("why") == "out of scope"]
    assert [w for a, w in denied if a == "user:super"] == ["GET /recordings project:NOPE"]
    assert [w for a, w in denied if a == "user:coord_auxa"] == [f"GET /recordings/{ROOM}/{rid} room:{ROOM}",
                                                               f"GET /recordings room:{ROOM}"]


def test_verify_catches_playlist_edits_the_file_names_hide(setup) -> None:  # type: ignore[no-untyped-def]
    """Review finding: moved times, a dropped init map or a finished playlist missing a segment passed."""
    client, _, folder, infos = setup
    h = bearer(client, "super")
    url = f"/api/recordings/{ROOM}/{folder.name}/verify"
    original = (folder / PLAYLIST_NAME).read_text()
    assert client.post(url, headers=h).json()["ok"]
    stamp = next(line for line in original.splitlines() if line.startswith("#EXT-X-PROGRAM-DATE-TIME:"))
    edits = [original.replace(stamp, "#EXT-X-PROGRAM-DATE-TIME:2000-01-01T00:00:00.000+00:00", 1),
             "\n".join(line for line in original.splitlines() if 'init-001.mp4' not in line) + "\n"]
    if "#EXT-X-ENDLIST" in original:
        last = infos[-1].path.name
        edits.append("\n".join(line for line in original.splitlines() if line != last) + "\n")
    for text in edits:
        (folder / PLAYLIST_NAME).write_text(text)
        report = client.post(url, headers=h).json()
        assert not report["ok"] and report["playlist_problems"], text
    (folder / PLAYLIST_NAME).write_text(original)


def test_a_damaged_playlist_is_reported_not_a_500(setup) -> None:  # type: ignore[no-untyped-def]
    client, _, folder, _ = setup
    h = bearer(client, "super")
    (folder / PLAYLIST_NAME).write_text("#EXTM3U\n#EXTINF:abc,\nseg-000000.m4s\n")
    listing = client.get(f"/api/rooms/{ROOM}/recordings", headers=h)
    assert listing.status_code == 200 and folder.name not in listing.text  # skipped and logged, not a 500
    assert client.post(f"/api/recordings/{ROOM}/{folder.name}/verify", headers=h).status_code == 404
