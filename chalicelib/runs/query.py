"""Run queries and their cursor, independent of the store behind them."""

from __future__ import annotations

import base64
import json
from typing import Any

from pydantic import BaseModel, Field

from chalicelib.runs.exceptions import InvalidCursorError
from chalicelib.runs.model import Run

MAX_LIMIT = 100


class RunQuery(BaseModel):
    repo: str | None = None
    pipeline: str | None = None
    status: str | None = None
    branch: str | None = None
    pr: int | None = None
    since: str | None = None  # ISO-8601; runs created at or after
    limit: int = Field(default=20, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class RunPage(BaseModel):
    runs: list[Run]
    next_cursor: str | None = None


def encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise InvalidCursorError("cursor is not one this API returned") from None
    if not isinstance(key, dict) or not all(isinstance(v, str) for v in key.values()):
        raise InvalidCursorError("cursor is not one this API returned")
    return key
