"""Settings from environment variables: the `.env` file the deploy writes ends up here."""

from __future__ import annotations

from urllib.parse import quote

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration.

    The database is described by the same `POSTGRES_*` variables that the PostgreSQL
    container reads, so the `.env` file holds each secret once. `DATABASE_URL`, when
    set, wins (handy for a local PostgreSQL).
    """

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    database_url: SecretStr | None = None
    postgres_host: str = "db"
    postgres_port: int = 5432
    postgres_user: str = "notes"
    postgres_password: SecretStr = SecretStr("")
    postgres_db: str = "notes"
    migrate_on_start: bool = True
    log_level: str = "INFO"
    page_size_max: int = Field(default=100, ge=1, le=1000)

    def sqlalchemy_url(self) -> str:
        """The SQLAlchemy URL, always with the psycopg 3 driver."""
        if self.database_url is not None:
            return _with_psycopg_driver(self.database_url.get_secret_value())
        user = quote(self.postgres_user, safe="")
        password = quote(self.postgres_password.get_secret_value(), safe="")
        return (
            f"postgresql+psycopg://{user}:{password}"
            f"@{self.postgres_host}:{self.postgres_port}/{self.postgres_db}"
        )


def _with_psycopg_driver(url: str) -> str:
    # People paste libpq-style URLs; SQLAlchemy would pick psycopg2, which is not installed.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
