"""Run queries and their cursor, independent of the store behind them.

A query is strict: a filter outside its range (``status=AAA``, ``pr=0``, ``since=garbage``,
an unknown parameter) is refused with the parameter's name rather than answered with
nothing, so a script's typo never silently means "no runs".

A cursor is opaque and bound to its query: it carries the store's position and a digest of
the filters it was issued under; handed back under other filters, or forged, it is an
``InvalidCursorError`` (400 ``invalid_cursor``), never a store error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chalicelib.jobs import Pipeline
from chalicelib.runs.exceptions import InvalidCursorError
from chalicelib.runs.model import Run, RunStatus, isoformat

MAX_LIMIT = 100
MAX_CURSOR_CHARS = 2048
CONFIG_PIPELINE = "gitops-config"  # the run recorded when a commit's .gitops.yml is unusable
PIPELINES = frozenset({*(p.value for p in Pipeline), CONFIG_PIPELINE})
STATUSES = frozenset(s.value for s in RunStatus)
# GitHub's rules: owner is alphanumerics and hyphens, a repository adds "." and "_".
REPO_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RunQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    repo: str | None = None
    pipeline: str | None = None
    status: str | None = None
    branch: str | None = Field(default=None, min_length=1, max_length=255)
    pr: int | None = Field(default=None, ge=1, le=2**31 - 1)
    since: str | None = None  # ISO-8601; runs created at or after (normalized to UTC)
    limit: int = Field(default=20, ge=1, le=MAX_LIMIT)
    cursor: str | None = Field(default=None, min_length=1, max_length=MAX_CURSOR_CHARS)

    @field_validator("repo")
    @classmethod
    def _repo(cls, value: str | None) -> str | None:
        if value is not None and not REPO_NAME.match(value):
            raise ValueError("must be owner/name as GitHub spells it")
        return value

    @field_validator("pipeline")
    @classmethod
    def _pipeline(cls, value: str | None) -> str | None:
        if value is not None and str(value) not in PIPELINES:
            raise ValueError(f"must be one of {', '.join(sorted(PIPELINES))}")
        return None if value is None else str(value)

    @field_validator("status")
    @classmethod
    def _status(cls, value: str | None) -> str | None:
        if value is not None and str(value) not in STATUSES:
            raise ValueError(f"must be one of {', '.join(sorted(STATUSES))}")
        return None if value is None else str(value)

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str | None) -> str | None:
        if value is not None and _CONTROL.search(value):
            raise ValueError("must not contain control characters")
        return value

    @field_validator("since")
    @classmethod
    def _since(cls, value: str | None) -> str | None:
        return None if value is None else normalize_since(value)


class RunPage(BaseModel):
    runs: list[Run]
    next_cursor: str | None = None


def normalize_since(value: str) -> str:
    """An ISO-8601 date or time as the store writes ``created_at`` (UTC, milliseconds, ``Z``),
    so comparing the strings compares the moments. A time without an offset is UTC.

    >>> normalize_since("2026-11-25T12:00:00+02:00")
    '2026-11-25T10:00:00.000Z'
    """
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("must be an ISO-8601 date or time, e.g. 2026-11-25T10:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return isoformat(moment)
    except OverflowError:  # year 1 or 9999 moved past the calendar's end by its offset
        edge = datetime.min if moment.year == 1 else datetime.max
        return isoformat(edge.replace(tzinfo=UTC))


def query_digest(query: RunQuery) -> str:
    """What a cursor is bound to: every filter, not the page size nor the cursor itself."""
    filters = query.model_dump(exclude={"limit", "cursor"})
    return hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()[:22]


def encode_cursor(key: dict[str, str], query: RunQuery) -> str:
    """The opaque cursor for the page after store position ``key`` of ``query``."""
    document = {"k": key, "q": query_digest(query)}
    raw = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, query: RunQuery) -> dict[str, str]:
    """The store position in ``cursor``, if ``cursor`` was issued for ``query``'s filters."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        document = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidCursorError("cursor is not one this API returned") from None
    key = document.get("k") if isinstance(document, dict) else None
    if not isinstance(key, dict) or not key or not all(_is_text(v) for v in key.values()):
        raise InvalidCursorError("cursor is not one this API returned")
    if document.get("q") != query_digest(query):
        raise InvalidCursorError("cursor belongs to a query with other filters")
    return key


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 1024
