"""Alembic environment: online migrations only, URL from the caller or the settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from notes_api.db import Base
from notes_api.settings import Settings

config = context.config


def _url() -> str:
    return config.attributes.get("sqlalchemy_url") or Settings().sqlalchemy_url()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
