"""Sealing: round trip, tamper detection, context binding (AAD), keys from settings or a key file."""

from __future__ import annotations

import base64
import logging
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from config import sealing
from config.sealing import SealError, draw_aad, load_key, seal, seat_aad, unseal
from config.settings import Settings
from evaluation.models import Draw

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))


def test_round_trip_and_fresh_nonce() -> None:
    aad = seat_aad(12, "P-2026-0420", "A08", "JN-R1")
    a = seal(b"E000001", aad=aad, key=KEY)
    b = seal(b"E000001", aad=aad, key=KEY)
    assert a != b  # random nonce: equal plaintexts do not give equal blobs
    assert b"E000001" not in a
    assert len(a) == sealing.NONCE_BYTES + len(b"E000001") + 16
    assert unseal(a, aad=aad, key=KEY) == b"E000001" == unseal(b, aad=aad, key=KEY)
    assert sealing.unseal_text(sealing.seal_text("张三", aad=b"x", key=KEY), aad=b"x", key=KEY) == "张三"


@pytest.mark.parametrize("position", [0, 5, 12, 15, -1])
def test_any_flipped_bit_is_detected(position: int) -> None:
    blob = bytearray(seal(b'{"format":"draw-result/1"}', aad=draw_aad(3), key=KEY))
    blob[position] ^= 0x01
    with pytest.raises(SealError, match="does not authenticate"):
        unseal(bytes(blob), aad=draw_aad(3), key=KEY)


def test_wrong_context_wrong_key_and_truncation_fail() -> None:
    blob = seal(b"E000001", aad=seat_aad(12, "P-1", "A08", "JN-R1"), key=KEY)
    for aad in (seat_aad(12, "P-1", "A08", "JN-R2"), seat_aad(13, "P-1", "A08", "JN-R1"), draw_aad(12), b""):
        with pytest.raises(SealError):
            unseal(blob, aad=aad, key=KEY)
    with pytest.raises(SealError):
        unseal(blob, aad=seat_aad(12, "P-1", "A08", "JN-R1"), key=OTHER)
    with pytest.raises(SealError, match="truncated"):
        unseal(blob[:20], aad=seat_aad(12, "P-1", "A08", "JN-R1"), key=KEY)
    with pytest.raises(SealError):
        seal(b"x", aad=b"", key=b"short")


def test_replacement_aad_binds_the_time() -> None:
    t1 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    t2 = datetime(2026, 11, 23, 1, 0, 1, tzinfo=UTC)
    blob = seal(b"E1", aad=sealing.replacement_aad("P-1", "A08", "new", t1), key=KEY)
    assert unseal(blob, aad=sealing.replacement_aad("P-1", "A08", "new", t1), key=KEY) == b"E1"
    with pytest.raises(SealError):
        unseal(blob, aad=sealing.replacement_aad("P-1", "A08", "new", t2), key=KEY)
    with pytest.raises(SealError):
        unseal(blob, aad=sealing.replacement_aad("P-1", "A08", "replaced", t1), key=KEY)


def test_key_from_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    b64 = base64.b64encode(OTHER).decode()
    settings = Settings(seal_key=b64, seal_key_file=tmp_path / "unused.key")
    assert load_key(settings) == OTHER
    assert not (tmp_path / "unused.key").exists()
    monkeypatch.setattr(sealing, "get_settings", lambda: settings)
    blob = seal(b"E9", aad=b"ctx")  # default key: the configured one
    assert unseal(blob, aad=b"ctx", key=OTHER) == b"E9"
    with pytest.raises(SealError, match="32 bytes"):
        load_key(Settings(seal_key=base64.b64encode(b"too short").decode()))
    with pytest.raises(SealError, match="base64"):
        load_key(Settings(seal_key="not base64 !!"))


def test_dev_key_file_is_generated_once_with_0600(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "var" / "seal.key"
    settings = Settings(seal_key="", seal_key_file=path)
    with caplog.at_level(logging.WARNING, logger="config.sealing"):
        key = load_key(settings)
    assert len(key) == 32 and path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "no YIDI_SEAL_KEY configured: generated a development key file" in caplog.text
    assert base64.b64encode(key).decode() not in caplog.text  # the key itself is never logged
    sealing._key_cache.clear()  # a new process reads the same file instead of generating again
    assert load_key(settings) == key
    assert base64.b64decode(path.read_text()) == key


def test_sealed_result_survives_the_database(engine: Engine) -> None:
    payload = "结果".encode() + bytes(range(256))
    with Session(engine) as s:
        draw = Draw(seed_sha256="a" * 64, instance_sha256="b" * 64, software="yidi 0.1.0")
        s.add(draw)
        s.flush()
        assert draw.id is not None
        draw.sealed_result = seal(payload, aad=draw_aad(draw.id), key=KEY)
        s.commit()
        draw_id = draw.id
    with Session(engine) as s:
        stored = s.exec(select(Draw).where(Draw.id == draw_id)).one()
        assert stored.status == "committed" and stored.seed_hex is None
        assert stored.created_at.tzinfo is not None
        assert stored.sealed_result is not None
        assert unseal(bytes(stored.sealed_result), aad=draw_aad(draw_id), key=KEY) == payload
