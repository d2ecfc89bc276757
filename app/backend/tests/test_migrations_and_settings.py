"""Alembic migrations against PostgreSQL, settings from the environment, JSON logs."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect

from notes_api import migrate
from notes_api.logs import JsonFormatter
from notes_api.settings import Settings


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_go_down_and_up_again(database_url: str) -> None:
    migrate.upgrade(database_url)
    assert {"notes", "alembic_version"} <= _tables(database_url)
    migrate.downgrade(database_url, "base")
    assert "notes" not in _tables(database_url)
    migrate.upgrade(database_url)
    columns = {c["name"] for c in inspect(create_engine(database_url)).get_columns("notes")}
    assert columns == {"id", "title", "body", "created_at", "updated_at"}


def test_settings_build_the_url_from_the_postgres_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same variables the PostgreSQL container reads from the deploy's .env file.
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("POSTGRES_HOST", "db")
    monkeypatch.setenv("POSTGRES_USER", "notes")
    monkeypatch.setenv("POSTGRES_PASSWORD", "p@ss:w/rd%")
    monkeypatch.setenv("POSTGRES_DB", "notes")
    settings = Settings()
    assert (
        settings.sqlalchemy_url() == "postgresql+psycopg://notes:p%40ss%3Aw%2Frd%25@db:5432/notes"
    )
    assert "p@ss" not in repr(settings)


def test_database_url_wins_and_gets_the_psycopg_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@localhost:5433/x")
    assert Settings().sqlalchemy_url() == "postgresql+psycopg://u:p@localhost:5433/x"


def test_json_formatter_keeps_extra_fields() -> None:
    record = logging.LogRecord("notes_api.access", logging.INFO, __file__, 1, "request", None, None)
    record.status = 201
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "request"
    assert line["status"] == 201
    assert line["level"] == "INFO"
    assert line["time"].endswith("+00:00")


def test_each_request_is_logged_with_its_status_and_duration(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="notes_api.access"):
        client.post("/api/notes", json={"title": "logged"})
    [record] = [r for r in caplog.records if r.name == "notes_api.access"]
    line = json.loads(JsonFormatter().format(record))
    assert (line["method"], line["path"], line["status"]) == ("POST", "/api/notes", 201)
    assert line["duration_ms"] >= 0
