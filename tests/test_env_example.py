"""`.env.example` lists every setting, so a deployment sees each tunable it can set."""

from __future__ import annotations

from pathlib import Path

from config.settings import Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[1] / ".env.example"


def test_every_setting_is_listed_in_env_example() -> None:
    listed = {line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
              if line.startswith("YIDI_") and "=" in line}
    missing = sorted(f"YIDI_{name.upper()}" for name in Settings.model_fields if f"YIDI_{name.upper()}" not in listed)
    assert missing == []
    unknown = sorted(name for name in listed if name[len("YIDI_"):].lower() not in Settings.model_fields)
    assert unknown == []
