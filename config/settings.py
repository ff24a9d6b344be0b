"""The one Settings singleton (pydantic-settings, `YIDI_*` environment variables)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Deployment settings; every tunable outside the draw rules lives here."""

    model_config = SettingsConfigDict(env_prefix="YIDI_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./var/yidi.db",
        description="SQLAlchemy URL: SQLite (embedded default) or postgresql+psycopg://…",
    )
    rules_file: Path | None = Field(
        default=None, description="TOML file overriding the draw-rule defaults for this jurisdiction."
    )
    seal_key: str = Field(
        default="",
        description="Base64 of a 32-byte AES-GCM key sealing committee lists at rest; "
        "empty means a key is generated into var/seal.key on first use (development only).",
    )
    seal_key_file: Path = Field(default=Path("var/seal.key"))
    # The draw's time budgets are deterministic (proposal counts, CP-SAT deterministic seconds),
    # never wall-clock, so that a replay on a slower machine gives the same result (rule D3).
    draw_batch_size: int = Field(default=512, ge=16, le=65536)
    draw_max_proposals: int = Field(
        default=200_000, ge=1000, description="Rejection-sampling proposals per project before fallback."
    )
    cpsat_deterministic_seconds: float = Field(default=5.0, gt=0)
    max_aux_choices_tried: int = Field(
        default=120, ge=1, description="Auxiliary-site combinations (S5) examined before giving up."
    )
    display_utc_offset_hours: int = Field(default=8, ge=-12, le=14)
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide Settings singleton."""
    return Settings()
