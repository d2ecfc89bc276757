"""The run store on SQLite: local mode's ``RunStore``, durable across restarts.

The same contract as ``chalicelib.store.runs.DynamoRunStore`` (the contract suite in
``tests/functional/store`` runs against both): every state change reads the stored status
and writes the new one in one transaction, refusing with ``TransitionConflictError`` what
the state machine does not allow from the stored status.

A run is kept whole as JSON (``doc``) beside the columns its queries filter on; the order
key is DynamoDB's sort key, ``<created_at>#<id>``, so pages and ``since`` agree.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from enum import Enum
from typing import Any

from chalicelib.runs.exceptions import (
    InvalidCursorError,
    RunExistsError,
    RunNotFoundError,
    TransitionConflictError,
)
from chalicelib.runs.model import ALLOWED_FROM, Run, RunStatus, isoformat, utc_now
from chalicelib.runs.query import RunPage, RunQuery, decode_cursor, encode_cursor
from chalicelib.store.sqlite_db import SqliteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    repo TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    status TEXT NOT NULL,
    branch TEXT,
    pr INTEGER,
    sort_key TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_time ON runs (sort_key);
CREATE INDEX IF NOT EXISTS runs_by_repo ON runs (repo, sort_key);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, sort_key);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS claims (key TEXT PRIMARY KEY, owner TEXT NOT NULL, claimed_at TEXT)
"""
# Filters and the column each one compares.
_FILTERS = {"repo": "repo", "pipeline": "pipeline", "status": "status", "branch": "branch"}


def sort_key(run: Run) -> str:
    return f"{run.created_at}#{run.id}"


def next_counter(conn: sqlite3.Connection, name: str) -> int:
    """Atomic counter inside the caller's write transaction."""
    row = conn.execute(
        "INSERT INTO counters (name, value) VALUES (?, 1) "
        "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
        (name,),
    ).fetchone()
    return int(row[0])


def read_doc(conn: sqlite3.Connection, run_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT doc FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is None:
        raise RunNotFoundError(f"run {run_id} not found")
    return dict(json.loads(row[0]))


def write_doc(conn: sqlite3.Connection, doc: dict[str, Any]) -> Run:
    """Store ``doc`` (a run plus any extra attributes) and return the run it holds."""
    run = Run.model_validate(doc)
    conn.execute(
        "UPDATE runs SET status = ?, branch = ?, pr = ?, pipeline = ?, doc = ? WHERE id = ?",
        (run.status.value, run.branch, run.pr, str(run.pipeline), json.dumps(doc), run.id),
    )
    return run


class SqliteRunStore:
    """Runs and run counters in ``db``; the lock store shares the file (grants live on runs)."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        db.ensure_schema(SCHEMA)

    def create(self, run: Run) -> Run:
        doc = run.model_dump(mode="json")
        try:
            with self._db.write() as conn:
                conn.execute(
                    "INSERT INTO runs (id, repo, pipeline, status, branch, pr, sort_key, doc) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run.id,
                        run.repo,
                        str(run.pipeline),
                        run.status.value,
                        run.branch,
                        run.pr,
                        sort_key(run),
                        json.dumps(doc),
                    ),
                )
        except sqlite3.IntegrityError:
            raise RunExistsError(f"run {run.id} already exists") from None
        return run

    def next_run_number(self, repo: str, pipeline: str) -> int:
        """Per repository and pipeline, only grows, like GitHub Actions' run_number."""
        with self._db.write() as conn:
            return next_counter(conn, f"RUN#{repo}#{pipeline}")

    def claim(self, key: str, owner: str, *, replace: str | None = None) -> str:
        """The run that ``key`` starts: read and write in one transaction (see ``RunStore``)."""
        with self._db.write() as conn:
            row = conn.execute("SELECT owner FROM claims WHERE key = ?", (key,)).fetchone()
            if row is not None and row[0] not in (owner, replace):
                return str(row[0])
            conn.execute(
                "INSERT INTO claims (key, owner, claimed_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, "
                "claimed_at = excluded.claimed_at",
                (key, owner, isoformat(utc_now())),
            )
            return owner

    def transition(
        self, run_id: str, target: RunStatus, *, min_sequence: int | None = None, **changes: Any
    ) -> Run:
        """Move a run to ``target`` if the state machine allows it from the stored status.

        ``min_sequence``: apply only if the run has seen no event newer than this one.
        """
        with self._db.write() as conn:
            doc = read_doc(conn, run_id)
            current = doc.get("status")
            stale = min_sequence is not None and int(doc.get("event_sequence", 0)) >= min_sequence
            if current not in ALLOWED_FROM[target] or stale:
                raise TransitionConflictError(
                    f"run {run_id} is {current}; cannot move to {target.value}"
                )
            now = isoformat(utc_now())
            if min_sequence is not None:
                changes["event_sequence"] = min_sequence
            changes.update(status=target.value, updated_at=now)
            if target == RunStatus.RUNNING:
                changes.setdefault("started_at", now)
            doc.update({name: _plain(value) for name, value in changes.items()})
            return write_doc(conn, doc)

    def update_fields(self, run_id: str, **changes: Any) -> Run:
        """Record facts on a run without changing its status (artifacts, runner ref)."""
        with self._db.write() as conn:
            doc = read_doc(conn, run_id)
            changes["updated_at"] = isoformat(utc_now())
            doc.update({name: _plain(value) for name, value in changes.items()})
            return write_doc(conn, doc)

    def get(self, run_id: str) -> Run:
        with self._db.read() as conn:
            return Run.model_validate(read_doc(conn, run_id))

    def query(self, query: RunQuery) -> RunPage:
        """Runs matching ``query``, newest first, ``query.limit`` at a time."""
        clauses, params = _where(query)
        if query.cursor:
            clauses.append("sort_key < ?")
            params.append(_cursor_position(query))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT sort_key, doc FROM runs {where} ORDER BY sort_key DESC LIMIT ?"
        with self._db.read() as conn:
            rows = conn.execute(sql, [*params, query.limit + 1]).fetchall()
        runs = [Run.model_validate_json(row["doc"]) for row in rows[: query.limit]]
        more = len(rows) > query.limit
        cursor = (
            encode_cursor({"sort_key": rows[query.limit - 1]["sort_key"]}, query) if more else None
        )
        return RunPage(runs=runs, next_cursor=cursor)

    def runs_in_status(self, statuses: Iterable[RunStatus]) -> list[Run]:
        """Every run in one of ``statuses`` (the reaper's and superseding's view)."""
        wanted = [RunStatus(status).value for status in statuses]
        if not wanted:
            return []
        marks = ", ".join("?" for _ in wanted)
        sql = f"SELECT doc FROM runs WHERE status IN ({marks}) ORDER BY sort_key DESC"
        with self._db.read() as conn:
            rows = conn.execute(sql, wanted).fetchall()
        return [Run.model_validate_json(row["doc"]) for row in rows]


def _where(query: RunQuery) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for name, column in _FILTERS.items():
        value = getattr(query, name)
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if query.pr is not None:
        clauses.append("pr = ?")
        params.append(query.pr)
    if query.since:
        clauses.append("sort_key >= ?")
        params.append(query.since)
    return clauses, params


def _cursor_position(query: RunQuery) -> str:
    position = decode_cursor(query.cursor or "", query).get("sort_key")
    if not position:
        raise InvalidCursorError("cursor is not one this API returned")
    return position


def _plain(value: Any) -> Any:
    """A change as JSON holds it (enums by value)."""
    if isinstance(value, Enum):
        return value.value
    return value
