"""The one Settings singleton (pydantic-settings, `YIDI_*` environment variables)."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
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
    # --- Notifications (outbox, SMTP e-mail, SMS stand-in, reminders, confirm/decline links) ---
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server sending the e-mails to experts.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_starttls: bool = Field(default=False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_ssl: bool = Field(default=False, description="Connect with implicit TLS (SMTPS, usually port 465).")
    smtp_username: str = Field(default="", description="SMTP login; empty means no authentication.")
    smtp_password: SecretStr = Field(default=SecretStr(""))
    mail_from: str = Field(default="yidi@localhost", max_length=254, description="From: of e-mails sent.")
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    sms_channel: str = Field(
        default="log", description='SMS gateway; "log" is a stand-in that only logs a masked number (simulated).'
    )
    notify_on_draw: bool = Field(default=True, description="Enqueue the drawn experts' notifications when a draw "
                                 "completes (the dispatch job then sends them).")
    notify_max_attempts: int = Field(default=5, ge=1, le=50, description="Send attempts before a message fails.")
    notify_retry_base_seconds: int = Field(
        default=60, ge=1, le=86400, description="Backoff before retry n is base * 2**(n-1) seconds."
    )
    reminder_hours_before: int = Field(default=24, ge=1, le=24 * 14)
    rsvp_link_max_age_hours: int = Field(default=14 * 24, ge=1, le=24 * 365)
    # --- Scheduled jobs (APScheduler, persistent job store, run-once claims) and statistics ---
    jobs_enabled: bool = Field(default=True, description="Start the job scheduler with the service.")
    jobs_max_workers: int = Field(default=4, ge=1, le=32, description="Threads running scheduled jobs.")
    notify_dispatch_interval_seconds: int = Field(default=60, ge=10, le=86400)
    reminder_interval_seconds: int = Field(default=600, ge=60, le=86400)
    reveal_interval_seconds: int = Field(default=60, ge=10, le=86400)
    checkin_deadline_interval_seconds: int = Field(default=60, ge=10, le=86400)
    checkin_grace_minutes: int = Field(
        default=30, ge=0, le=24 * 60, description="After start + this, check-in closes and no-shows are handled."
    )
    daily_stats_time: time = Field(default=time(0, 10), description="Local time (display offset) of daily statistics.")
    daily_stats_grace_hours: int = Field(default=6, ge=1, le=23, description="A late daily run is still made this long")
    stats_max_days: int = Field(default=800, ge=1, le=3660, description="Longest period GET /api/stats accepts.")
    # --- Long operations and the expert import ---
    operation_workers: int = Field(default=2, ge=1, le=32, description="Threads running long operations.")
    import_max_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, description="Largest expert import file accepted (bytes)."
    )
    import_max_rows: int = Field(default=50_000, ge=1, description="Most data rows in one expert import file.")
    import_max_errors: int = Field(
        default=1000, ge=1, description="Row errors kept in an import report (the rest are only counted)."
    )
    # --- Face enrolment and 1:1 verification (experts/identity.py) ---
    face_tolerance: float = Field(
        default=0.5, gt=0, le=1, description="Largest face-encoding distance accepted as the same person."
    )
    face_max_image_bytes: int = Field(
        default=8 * 1024 * 1024, ge=1024, description="Largest face photo or frame accepted (bytes)."
    )
    face_max_pixels: int = Field(
        default=24_000_000, ge=10_000, description="Most pixels (width x height) of a face photo or frame."
    )
    face_upsample: int = Field(
        default=0, ge=0, le=3, description="Times the HOG face detector upsamples the image (finds smaller faces)."
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
