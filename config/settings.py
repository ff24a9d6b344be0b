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
    # --- Access (users, sessions, tokens, signed links) ---
    secret_key: str = Field(
        default="",
        description="Secret signing session cookies, API tokens, CSRF tokens and e-mailed links; "
        "empty means one is generated into secret_key_file on first use (development only).",
    )
    secret_key_file: Path = Field(default=Path("var/secret.key"))
    token_ttl_minutes: int = Field(default=480, ge=5, le=7 * 24 * 60)
    session_cookie_secure: bool = Field(default=False, description="Send the session cookie over HTTPS only.")
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="Base URL used in links sent to experts."
    )
    # --- (each feature adds its settings block above this line) ---
    # --- Demo accounts (`yidi serve --demo`); never used unless demo data is loaded ---
    demo_password: str = Field(default="yidi-demo-2026", min_length=10)
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide Settings singleton."""
    return Settings()
