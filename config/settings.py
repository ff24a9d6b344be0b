"""The one Settings singleton (pydantic-settings, `YIDI_*` environment variables)."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from config.settings_ledger import LedgerSettings


class Settings(LedgerSettings):
    """Deployment settings; every tunable outside the draw rules lives here (the ledger's in LedgerSettings)."""

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
    # --- Check-in terminals, no-shows and report sign-off (checkin/) ---
    checkin_open_minutes: int = Field(
        default=120, ge=0, le=24 * 60, description="Check-in at a room's terminal opens this long before the start."
    )
    checkin_challenge_seconds: int = Field(
        default=120, ge=10, le=3600, description="How long a terminal's head-turn challenge stays valid."
    )
    checkin_frame_interval_ms: int = Field(
        default=250, ge=50, le=2000, description="Interval at which the terminal page captures frames."
    )
    checkin_frame_max_width: int = Field(default=640, ge=160, le=1920, description="Widest frame a terminal sends.")
    checkin_max_failures: int = Field(
        default=5, ge=1, le=100, description="Failed verifications of one ID before it is locked out for a while."
    )
    checkin_terminal_max_failures: int = Field(
        default=20, ge=1, le=1000, description="Failed attempts at one terminal before the terminal is locked out."
    )
    checkin_lockout_minutes: int = Field(
        default=15, ge=1, le=24 * 60, description="Window counting failures, and how long a lockout lasts."
    )
    checkin_replace_no_shows: bool = Field(
        default=True, description="At the check-in deadline, replace every seat holder not checked in (R1/R2)."
    )
    report_max_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1024, description="Largest evaluation report file accepted (bytes)."
    )
    # --- Recording (av_monitor/recorder.py: segmented HLS/fMP4, encoding in a worker thread) ---
    recording_directory: Path = Field(
        default=Path("var/recordings"), description="Root folder of room recordings (one folder per recording)."
    )
    recording_segment_seconds: float = Field(
        default=4.0, ge=1.0, le=10.0,
        description="Length of one HLS segment; also the GOP (an IDR frame starts each segment).",
    )
    recording_x264_preset: str = Field(
        default="veryfast", pattern="^(ultrafast|superfast|veryfast|faster|fast|medium)$",
        description="libx264 preset; veryfast (measured by benchmarks/bench_recorder.py) costs ~1.3x the CPU "
        "of ultrafast for ~35% smaller segments, still ~16 rooms per core at 640x480@15.",
    )
    recording_x264_crf: int = Field(default=28, ge=0, le=51, description="libx264 constant rate factor (quality).")
    recording_x264_threads: int = Field(
        default=1, ge=0, le=16, description="libx264 threads per room (0 = auto); rooms already run in parallel."
    )
    recording_audio_codec: str = Field(
        default="aac", pattern="^(aac|libopus)$", description="Audio codec in the fMP4 segments."
    )
    recording_audio_bitrate: int = Field(default=64_000, ge=16_000, le=320_000, description="Audio bit rate (bit/s).")
    recording_audio_channels: int = Field(default=1, ge=1, le=2, description="Recorded audio channels.")
    recording_queue_frames: int = Field(
        default=120, ge=2, le=10_000,
        description="Bound of the frame queue to the encoder thread; when full, frames are dropped and counted.",
    )
    recording_video_wait_seconds: float = Field(
        default=3.0, ge=0.0, le=60.0,
        description="When audio arrives first, wait this long for video before recording with a black picture.",
    )
    recording_remux: bool = Field(
        default=True, description="Record an H.264 publisher's packets as they came (remux, no decode or encode); "
                                  "false, or a VP8 publisher, decodes and encodes with libx264.")
    recording_default_width: int = Field(default=640, ge=16, le=4096, description="Picture width with no video yet.")
    recording_default_height: int = Field(default=480, ge=16, le=4096, description="Picture height with no video yet.")
    # --- WebRTC ingest and viewing (av_monitor: WHIP publishers, WHEP viewers, room recording) ---
    webrtc_ice_servers: list[str] = Field(
        default=[], description="STUN/TURN URLs offered to the server's peers (empty: host candidates only, LAN)."
    )
    webrtc_turn_username: str = Field(default="", description="Username for the TURN URLs in webrtc_ice_servers.")
    webrtc_turn_credential: SecretStr = Field(
        default=SecretStr(""), description="Credential for the TURN URLs in webrtc_ice_servers."
    )
    webrtc_cors_origins: list[str] = Field(
        default=[], description="Origins (scheme://host[:port]) whose pages may publish or view over WHIP/WHEP "
        "with a bearer token (CORS); empty: pages of the service's own origin only.",
    )
    webrtc_max_viewers_per_room: int = Field(
        default=8, ge=1, le=100, description="Most WHEP viewers of one room at once (each costs one encoder)."
    )
    webrtc_max_sdp_bytes: int = Field(default=64 * 1024, ge=1024, description="Largest SDP offer accepted.")
    # --- A/V back end: the embedded aiortc hub, or a Janus SFU shared by every service process (sfu, av_monitor) ---
    av_backend: Literal["aiortc", "janus"] = Field(
        default="aiortc", description="aiortc: media through this process (one process); janus: WHIP/WHEP proxied to "
        "a Janus server (VideoRoom publishers, Streaming viewers), state in the database, any number of processes.")
    sfu_janus_url: str = Field(
        default="http://127.0.0.1:8088/janus", description="Janus's REST API (av_backend=janus).")
    sfu_admin_key: SecretStr = Field(
        default=SecretStr(""), description="The admin_key of Janus's VideoRoom and Streaming plugins (room, "
        "mountpoint and forwarder requests); the same in deploy/janus/*.jcfg.")
    sfu_forward_host: str = Field(
        default="127.0.0.1", description="Address of the Janus host as seen by itself (RTP forwarders to mountpoints).")
    sfu_keepalive_seconds: float = Field(
        default=20.0, ge=1, le=55, description="Every process keeps every Janus session alive this often (Janus "
        "drops a session after its session_timeout, 60 s in deploy/janus/janus.jcfg).")
    sfu_recording_lease_seconds: float = Field(
        default=10.0, ge=6, le=300, description="A process records a room through the SFU under a lease this long, "
        "renewed every 2 s; a process that dies is taken over once it runs out (the gap in the recording).")
    sfu_request_timeout_seconds: float = Field(default=10.0, ge=1, le=120, description="Longest wait for Janus.")
    sfu_max_viewers_per_room: int = Field(
        default=100, ge=1, le=10_000, description="Most staff viewers of one room through the SFU.")
    sfu_keyframe_seconds: int = Field(
        default=2, ge=0, le=60, description="Janus asks publishers for a keyframe this often (new viewers' first "
        "picture; 0: never).")
    # --- Public live bid openings (开标直播): anonymous viewers of a bid-opening room, package openings ---
    opening_max_viewers: int = Field(
        default=150, ge=1, le=10_000, description="Most anonymous viewers of one public opening at once "
        "(forwarded, no encoder each; benchmarks/bench_openings.py measures what one process holds).")
    opening_lead_minutes: int = Field(
        default=30, ge=0, le=24 * 60, description="A public opening's watch link works, and its room is "
        "recorded, from this long before its start to its end (recording_after_minutes more for the recording).")
    opening_max_hours: float = Field(default=12.0, gt=0, le=72, description="Longest window of one public opening.")
    webrtc_stream_stopped_seconds: float = Field(
        default=10.0, ge=1, le=3600, description="No frames this long from a connected publisher raises an alert."
    )
    webrtc_forward_viewers: bool = Field(
        default=True, description="Viewers get the publisher's encoded frames (no decode or encode per viewer); "
                                  "false transcodes for every viewer as before (for comparison).")
    webrtc_keyframe_min_interval_seconds: float = Field(
        default=0.5, ge=0.05, le=60, description="Least time between keyframe requests (RTCP PLI) to a publisher.")
    webrtc_publish_video_codec: str = Field(
        default="video/H264", pattern=r"^(video/(H264|VP8))?$",
        description="Codec taken from a publisher's offer when it offers it (H.264: recorded by remux); "
                    "empty takes the offer's first.")
    webrtc_publish_low_layer: bool = Field(
        default=True, description="The camera page also sends a low layer (thumbnail size, rate and bit rate) "
                                  "that wall tiles get forwarded (no thumbnail encode in the service).")
    webrtc_thumbnail_width: int = Field(
        default=320, ge=64, le=1280, description="Width of a wall tile's thumbnail picture (layer=thumb).")
    webrtc_thumbnail_fps: float = Field(default=5.0, ge=0.5, le=30, description="Thumbnail pictures per second.")
    webrtc_thumbnail_bitrate: int = Field(
        default=120_000, ge=20_000, le=2_000_000, description="Thumbnail target bit rate (bit/s), per room.")
    webrtc_thumbnail_keyframe_seconds: float = Field(
        default=2.0, ge=0.2, le=60, description="Most seconds between thumbnail keyframes.")
    webrtc_record_while_publishing: bool = Field(
        default=True, description="Automatic recording on/off (recording_mode decides when)."
    )
    webrtc_recording_linger_seconds: float = Field(
        default=900.0, ge=0, description="A recording stays open this long after its publisher left, awaiting "
        "a reconnect (which continues it with a gap); then it is finished.",
    )
    # --- Liveness: head-turn challenge judged from 5-point landmarks (checkin/liveness.py) ---
    liveness_min_frames: int = Field(default=6, ge=3, le=64, description="Fewest frames a check-in sequence may have.")
    liveness_max_frames: int = Field(default=16, ge=3, le=64, description="Most frames a check-in sequence may have.")
    liveness_detect_max_width: int = Field(
        default=640, ge=160, le=4096, description="Frames wider than this are downscaled to it for face detection."
    )
    liveness_repeat_max_difference: float = Field(
        default=0.05, ge=0, le=50, description="Two frames whose 64x48 grey thumbnails differ by less than this mean "
        "absolute grey level count as repeated (a replayed frame, also re-encoded as JPEG at the same quality).",
    )
    liveness_max_missing_share: float = Field(
        default=0.3, ge=0, lt=1, description="Share of frames allowed without a face (e.g. turned past the detector)."
    )
    liveness_frontal_max_yaw: float = Field(
        default=0.08, gt=0, le=1, description="Largest |yaw index| of a frame counted as looking straight ahead."
    )
    liveness_turn_min_yaw: float = Field(
        default=0.2, gt=0, le=1, description="Smallest change of the yaw index from the most frontal frame, in the "
        "asked direction, counted as a head turn; as far the other way fails the check.",
    )
    liveness_max_jump: float = Field(
        default=0.5, gt=0, le=5, description="Largest face-box centre move between consecutive frames, in box widths."
    )
    liveness_max_size_ratio: float = Field(
        default=1.5, gt=1, le=5, description="Largest face-box width ratio between consecutive frames with a face."
    )
    liveness_same_face_tolerance: float = Field(
        default=0.6, gt=0, le=1, description="Largest encoding distance between the sequence's checked faces "
        "(frontal, most turned, first, last) before the face counts as changed.",
    )
    # --- Operation log and evidence export (audit/) ---
    audit_room_after_minutes: int = Field(
        default=30, ge=0, le=24 * 60, description="A project's slice of the ledger keeps its rooms' entries until "
        "this long after its end (from check-in opening, checkin_open_minutes before its start).",
    )
    audit_evidence_max_entries: int = Field(
        default=200_000, ge=100, le=5_000_000, description="Most ledger entries an evidence zip may hold; the zip "
        "is built in memory, so a larger slice is refused (413) instead of exhausting memory.",
    )
    # --- Recording schedule: record rooms while an evaluation is scheduled there (av_monitor/schedule.py) ---
    recording_mode: str = Field(
        default="schedule", pattern="^(schedule|always)$", description="When a publishing room is recorded: "
        "'schedule' while a project holding seats there runs (from check-in opening, checkin_open_minutes before "
        "its start, to recording_after_minutes after its end), 'always' whenever a publisher is connected. "
        "webrtc_record_while_publishing=false turns automatic recording off in both modes.",
    )
    recording_after_minutes: int = Field(
        default=30, ge=0, le=24 * 60, description="Schedule mode: a room stays recorded this long after the end."
    )
    recording_schedule_interval_seconds: float = Field(
        default=30.0, ge=0.1, le=3600, description="Schedule mode: how often the hub checks which rooms to record."
    )
    # --- Recordings playback and retention (av_monitor/recordings.py, playback_views.py) ---
    recording_retention_days: int = Field(
        default=5479, ge=1, le=100 * 366, description="Recordings are kept this many days after their last "
        "segment (default 15 years, as procurement records); the daily retention job removes older ones.",
    )
    recording_retention_open_hours: float = Field(
        default=24.0, ge=1, le=24 * 365, description="A recording without EXT-X-ENDLIST whose folder changed "
        "within this many hours counts as still being written and is never removed.",
    )
    recording_retention_time: time = Field(
        default=time(3, 30), description="Local time (display offset) of the daily recording retention job."
    )
    recording_retention_grace_hours: int = Field(
        default=6, ge=1, le=23, description="A late retention run is still made this long after its time."
    )
    recording_view_log_seconds: float = Field(
        default=300.0, ge=0, le=24 * 3600, description="Opening the same recording file again within this many "
        "seconds (same user) is not ledgered again: players re-request files while playing and seeking.",
    )
    # --- Stale long operations (operations/: worker heartbeats and the sweep job) ---
    operation_heartbeat_seconds: float = Field(
        default=15.0, ge=0.1, le=600, description="How often a service process confirms that the long "
        "operations it runs are still alive (heartbeat_at), whether or not the work reports progress.",
    )
    operation_stale_seconds: int = Field(
        default=120, ge=10, le=24 * 3600, description="A queued or running operation whose heartbeat is older "
        "than this is failed by the sweep (its process stopped); at least 3x the heartbeat interval is used.",
    )
    operation_sweep_interval_seconds: int = Field(
        default=60, ge=10, le=86400, description="How often the job failing stale operations runs."
    )
    # --- The expert's own page (portal/engagements.py: /me, /api/me/engagements) ---
    expert_portal_window_days: int = Field(
        default=30, ge=0, le=366, description="An expert's page lists the seats of evaluations starting this "
        "many days ago or later (all upcoming ones too); only those projects' sealed seats are opened per request.",
    )
    # --- Expert import: workbook expansion cap (experts/importer.py, zip-bomb guard) ---
    import_max_uncompressed_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1024, le=4 * 1024 * 1024 * 1024,
        description="Largest total uncompressed size of an .xlsx import's parts (bytes; about 10x "
        "import_max_bytes); a larger workbook is refused before it is read.",
    )
    # --- Draw timing (evaluation/service.py) ---
    draw_min_lead_minutes: int = Field(
        default=0, ge=0, le=7 * 24 * 60, description="A project is drawn only while its start lies more than this "
        "many minutes ahead: a draw for an evaluation already under way would unseal at once and could probe the "
        "sealed committees around it (D5).",
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
