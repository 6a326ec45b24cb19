"""The FastAPI application factory."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.api.error_handlers import install_error_handlers
from services.api.review_screen import mount_review_screen
from services.api.routes import auth, exports, health, learning, privacy, projects, review, transcripts
from services.api.startup import start_startup_tasks
from services.shared.config import Settings
from services.shared.db import Database
from services.shared.queue import make_redis

API_PREFIX = "/api/v1"


def create_app(settings: Settings) -> FastAPI:
    """Build the API for `settings`; connections open at startup and close at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.database = Database(settings)
        app.state.redis = make_redis(settings)
        # Recovery sweep and recogniser preload run beside the first requests, never delaying startup.
        app.state.startup_tasks = start_startup_tasks(app.state.database, app.state.redis, settings)
        try:
            yield
        finally:
            app.state.database.dispose()
            app.state.redis.close()

    app = FastAPI(
        title="qcoder",
        version="0.1.0",
        description=(
            "Codes Dutch interview transcripts into a codebook's knelpunt and oplossing codes. "
            "Every endpoint except /health needs a bearer token from POST /api/v1/auth/token."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(health.router)
    for module in (auth, projects, transcripts, review, exports, privacy, learning):
        app.include_router(module.router, prefix=API_PREFIX)
    mount_review_screen(app)
    return app
