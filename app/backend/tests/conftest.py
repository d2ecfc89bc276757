"""Fixtures for the backend tests: one real PostgreSQL per session, migrated once."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

BACKEND = Path(__file__).resolve().parents[1]
# pytest runs with --import-mode=importlib, which does not put the backend on sys.path.
if str(BACKEND) not in sys.path:
    sys.path.insert(0, str(BACKEND))

from notes_api.main import create_app  # noqa: E402
from notes_api.settings import Settings  # noqa: E402


def _load_pgcluster():
    spec = importlib.util.spec_from_file_location("notes_pgcluster", BACKEND / "tests/pgcluster.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


pgcluster = _load_pgcluster()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with pgcluster.running_cluster() as cluster:
        yield cluster.url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, log_level="WARNING")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A client on a fresh app; entering it runs the lifespan, so migrations apply."""
    app = create_app(settings)
    with TestClient(app) as test_client:
        yield test_client
        with app.state.engine.begin() as conn:
            conn.execute(text("TRUNCATE notes RESTART IDENTITY"))
