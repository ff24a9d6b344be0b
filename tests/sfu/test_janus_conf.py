"""`yidi janus-config`: the Janus configuration a deployment runs its SFU with."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from config.settings import get_settings


def test_the_cli_writes_the_configuration_with_the_services_admin_key(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    monkeypatch.setenv("YIDI_SFU_ADMIN_KEY", "k-" + "x" * 30)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["janus-config", str(tmp_path / "janus"), "--rtp-ports", "30000-30999"])
        assert result.exit_code == 0, result.output
        main = (tmp_path / "janus" / "janus.jcfg").read_text()
        assert "ice_lite = true" in main and 'rtp_port_range = "30000-30499"' in main
        assert "no_media_timer = 10" in main  # YIDI_WEBRTC_STREAM_STOPPED_SECONDS
        for plugin in ("videoroom", "streaming"):
            assert f'admin_key = "k-{"x" * 30}"' in (tmp_path / "janus" / f"janus.plugin.{plugin}.jcfg").read_text()
        assert 'rtp_port_range = "30500-30999"' in (tmp_path / "janus" / "janus.plugin.streaming.jcfg").read_text()
        assert "lock_rtp_forward = true" in (tmp_path / "janus" / "janus.plugin.videoroom.jcfg").read_text()
        bad = runner.invoke(app, ["janus-config", str(tmp_path / "other"), "--rtp-ports", "9-3"])
        assert bad.exit_code == 2 and "--rtp-ports" in bad.output and not (tmp_path / "other").exists()
        monkeypatch.setenv("YIDI_SFU_ADMIN_KEY", "")
        get_settings.cache_clear()
        empty = runner.invoke(app, ["janus-config", str(tmp_path / "other")])
        assert empty.exit_code == 2 and "YIDI_SFU_ADMIN_KEY" in empty.output
    finally:
        get_settings.cache_clear()
