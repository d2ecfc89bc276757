"""The composition root: settings, engine, migrations, routes, metrics, logs.

Run with `uvicorn --factory notes_api.main:create_app`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from notes_api import migrate
from notes_api.db import make_engine, make_sessionmaker
from notes_api.exceptions import NoteNotFoundError, NotesError
from notes_api.logs import access_log, configure_logging
from notes_api.metrics import install_metrics
from notes_api.routes import notes, probes
from notes_api.settings import Settings

logger = logging.getLogger("notes_api")

# The one place where domain errors become HTTP status codes.
_STATUS: dict[type[Exception], int] = {NoteNotFoundError: 404}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="MaestrOps notes",
        version="1.0.0",
        lifespan=_lifespan,
        # Behind Traefik only /api and /docs reach the backend, so the schema lives under /api.
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.sqlalchemy_url())
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.include_router(notes)
    app.include_router(probes)
    app.add_exception_handler(NotesError, _domain_error)
    app.middleware("http")(access_log)
    install_metrics(app)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if settings.migrate_on_start:
        logger.info("applying migrations")
        migrate.upgrade(settings.sqlalchemy_url())
    yield
    app.state.engine.dispose()


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    status = _STATUS.get(type(exc), 400)
    return JSONResponse({"detail": str(exc)}, status_code=status)
