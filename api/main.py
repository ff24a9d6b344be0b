"""The service's composition root: app factory, lifespan, error handlers, routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from config.db import get_engine
from config.migrate import upgrade
from config.settings import get_settings
from scheduler import views as draw_views
from scheduler.exceptions import InstanceError, ReplacementError
from scheduler.export import UnknownProjectError
from scheduler.service import DrawNotFound, StillSealed

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Bring the schema up to date on start."""
    upgrade(get_engine())
    yield


def _error(status: int, field: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": [{"loc": [field], "msg": message}]})


def create_app() -> FastAPI:
    """Build the FastAPI application."""
    settings = get_settings()
    logging.basicConfig(level=settings.log_level)
    app = FastAPI(title="Yidi 异地 — remote cross-region evaluation", version="0.1.0", lifespan=lifespan)

    @app.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        """Liveness and the database in use (without credentials)."""
        backend = get_engine().url.get_backend_name()
        return {"status": "ok", "database": backend}

    @app.exception_handler(InstanceError)
    async def _instance_error(_: Request, exc: InstanceError) -> JSONResponse:
        return _error(422, exc.path, exc.message)

    @app.exception_handler(ReplacementError)
    async def _replacement_error(_: Request, exc: ReplacementError) -> JSONResponse:
        return _error(409, "expert_code", str(exc))

    @app.exception_handler(DrawNotFound)
    async def _not_found(_: Request, exc: DrawNotFound) -> JSONResponse:
        return _error(404, "draw_id", "draw not found")

    @app.exception_handler(StillSealed)
    async def _sealed(_: Request, exc: StillSealed) -> JSONResponse:
        return _error(403, "draw_id", str(exc))

    @app.exception_handler(UnknownProjectError)
    async def _lookup(_: Request, exc: UnknownProjectError) -> JSONResponse:
        return _error(404, "project_codes", str(exc))

    app.include_router(draw_views.router)
    return app
