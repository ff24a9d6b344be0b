"""Shared A/V fixtures: one real two-run recording per module, installed and ledgered per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from av_monitor import playback_views
from av_monitor.recorder import SegmentInfo
from config.settings import get_settings
from tests.api_support import app_client
from tests.av_monitor.recording_support import ROOM, ledger_segments, make_recording


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[SegmentInfo]]:
    folder = tmp_path_factory.mktemp("recorded")
    recording_id, infos = make_recording(folder)
    assert len({i.init_path for i in infos}) == 2 and sum(i.gap_before for i in infos) == 1
    return folder, recording_id, infos


@pytest.fixture
def setup(recorded: tuple[Path, str, list[SegmentInfo]], tmp_path: Path, engine: Engine,
          monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A client on the app with the recording installed under a temporary recording_directory and ledgered."""
    source, recording_id, infos = recorded
    base = tmp_path / "recordings"
    shutil.copytree(source / recording_id, base / ROOM / recording_id)
    monkeypatch.setenv("YIDI_RECORDING_DIRECTORY", str(base))
    monkeypatch.setattr(playback_views, "_logged", {})  # each test starts with no recent views
    get_settings.cache_clear()
    with app_client(engine, monkeypatch) as client:
        with Session(engine) as session:
            ledger_segments(session, infos)
        yield client, engine, base / ROOM / recording_id, infos
    get_settings.cache_clear()
