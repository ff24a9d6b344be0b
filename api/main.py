"""The service's composition root: app factory, lifespan, middleware, error handlers, routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from accounts import views as auth_views
from api import errors, openapi, pages
from api.input_guard import refuse_nul
from api.jobs import runner as jobs_runner
from api.jobs import views as jobs_views
from api.migrate import upgrade
from audit import checkpoint_views
from audit import views as audit_views
from av_monitor import playback_views, public_views, webrtc
from av_monitor import views as av_views
from av_monitor.sfu_hub import SfuHub
from av_monitor.whip_http import WhipCors
from checkin import scheduled as checkin_scheduled
from checkin import views as checkin_views
from config import keys
from config.db import get_engine
from config.settings import get_settings
from evaluation import project_views
from evaluation import views as draw_views
from evaluation.scheduled import register_checkin_deadline_hook
from experts import face_views
from experts import views as expert_views
from openings import views as opening_views
from operations import views as operation_views
from portal import me_views as portal_views
from portal import views as notify_views
from venues import views as venue_views

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Bring the schema up to date on start; run the job scheduler while the app lives (if enabled)."""
    upgrade(get_engine())
    scheduler = jobs_runner.start(get_engine()) if get_settings().jobs_enabled else None
    if scheduler is not None:
        jobs_runner.sweep_now(get_engine())  # operations a stopped process left unfinished
    hub = webrtc.get_hub()
    if isinstance(hub, SfuHub):
        hub.start()  # every process keeps the SFU's sessions alive and may take over a room's recording
    try:
        yield
    finally:
        if scheduler is not None:
            jobs_runner.stop(scheduler)
        await webrtc.shutdown()  # closes every peer connection and recorder, flushes their ledger writes


def create_app() -> FastAPI:
    """Build the FastAPI application."""
    settings = get_settings()
    logging.basicConfig(level=settings.log_level)
    app = FastAPI(title="Yidi 异地 — remote cross-region evaluation", version="0.2.0", lifespan=lifespan,
                  dependencies=[Depends(refuse_nul)])
    # Signed (not encrypted) cookie: it holds only the user id, token version and CSRF token.
    # Pages of other origins may publish and view with a bearer token (none allowed by default).
    app.add_middleware(WhipCors, origins=settings.webrtc_cors_origins)
    app.add_middleware(SessionMiddleware, secret_key=keys.secret_text(), session_cookie="yidi_session",
                       max_age=settings.token_ttl_minutes * 60, same_site="lax",
                       https_only=settings.session_cookie_secure)

    @app.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        """Liveness and the database in use (without credentials)."""
        backend = get_engine().url.get_backend_name()
        return {"status": "ok", "database": backend}

    # No-shows at each project's check-in deadline are replaced (the hook reads its on/off setting).
    register_checkin_deadline_hook(checkin_scheduled.replace_no_shows)
    errors.install(app)
    openapi.install(app)
    # --- routers (one line per domain) ---
    app.include_router(auth_views.router)
    app.include_router(draw_views.router)
    app.include_router(project_views.router)
    app.include_router(project_views.replan_router)
    app.include_router(notify_views.router)
    app.include_router(notify_views.api_router)
    app.include_router(portal_views.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(jobs_views.router)
    app.include_router(venue_views.router)
    app.include_router(expert_views.router)
    app.include_router(operation_views.router)
    app.include_router(face_views.router)
    app.include_router(checkin_views.router)
    app.include_router(checkin_views.report_router)
    app.include_router(av_views.router)
    app.include_router(audit_views.router)
    app.include_router(checkpoint_views.router)
    app.include_router(playback_views.router)
    app.include_router(opening_views.router)
    app.include_router(public_views.router)
    # --- (each feature adds its router above this line) ---
    return app
