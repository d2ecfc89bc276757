"""Workspace leases on SQLite: local mode's ``LockStore``, in the run store's file.

The same contract as ``chalicelib.store.locks.DynamoLockStore``: ``change`` reads the lease,
lets the pure functions of ``chalicelib.locks.lease`` decide, and writes the result, all in
one write transaction, so two dispatchers cannot both win a workspace. Tokens come from a
counter row that is never deleted, so a lease forgotten and taken again still issues tokens
above every earlier one, across restarts too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from chalicelib.locks.lease import Lease, LockKey
from chalicelib.store.sqlite_db import SqliteDatabase
from chalicelib.store.sqlite_runs import SCHEMA as RUNS_SCHEMA
from chalicelib.store.sqlite_runs import next_counter, read_doc, write_doc

SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    repo TEXT NOT NULL,
    doc TEXT NOT NULL
)
"""
T = TypeVar("T")


def lock_name(key: LockKey) -> str:
    return f"{key.repo}#{key.directory}#{key.workspace}"


class SqliteLockStore:
    """Leases, their token counters, and what each plan run was granted or waits for."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        db.ensure_schema(RUNS_SCHEMA)  # grants are attributes of runs; counters are shared
        db.ensure_schema(SCHEMA)

    def get(self, key: LockKey) -> Lease | None:
        with self._db.read() as conn:
            row = conn.execute("SELECT doc FROM leases WHERE name = ?", (lock_name(key),))
            found = row.fetchone()
        return Lease.model_validate_json(found[0]) if found else None

    def change(
        self, key: LockKey, decide: Callable[[Lease, Callable[[int], int]], tuple[Lease, T]]
    ) -> T:
        """Read the lease, let ``decide(lease, next_token)`` compute the new one, write it back."""
        name = lock_name(key)
        with self._db.write() as conn:
            row = conn.execute("SELECT doc FROM leases WHERE name = ?", (name,)).fetchone()
            current = Lease.model_validate_json(row[0]) if row else Lease(key=key)

            def next_token(last: int) -> int:
                return max(next_counter(conn, f"LOCK#{name}"), last + 1)

            new, result = decide(current, next_token)
            if new == current:
                return result  # nothing to write (e.g. a release by a PR that holds nothing)
            stored = new.model_copy(update={"version": current.version + 1})
            conn.execute(
                "INSERT INTO leases (name, repo, doc) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET doc = excluded.doc",
                (name, key.repo, stored.model_dump_json()),
            )
            return result

    def find(self, repo: str | None = None) -> list[Lease]:
        """Every lease ever taken (held or free), optionally of one repository."""
        sql = "SELECT doc FROM leases ORDER BY name"
        params: tuple[str, ...] = ()
        if repo:
            sql, params = "SELECT doc FROM leases WHERE repo = ? ORDER BY name", (repo,)
        with self._db.read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [Lease.model_validate_json(row[0]) for row in rows]

    def record_grant(self, run_id: str, token: int) -> None:
        """The plan run holds the lease under ``token``; its apply must present it."""
        with self._db.write() as conn:
            doc = read_doc(conn, run_id)
            doc["fencing_token"] = token
            doc.pop("waiting_for", None)
            doc.pop("waiting_for_lock", None)
            write_doc(conn, doc)

    def record_wait(self, run_id: str, holder_pr: int, lock_id: str) -> None:
        """The plan run is queued behind PR ``holder_pr`` (``waiting_for`` on the run)."""
        with self._db.write() as conn:
            doc = read_doc(conn, run_id)
            doc.update(waiting_for=holder_pr, waiting_for_lock=lock_id)
            write_doc(conn, doc)

    def granted_token(self, run_id: str) -> int | None:
        with self._db.read() as conn:
            row = conn.execute("SELECT doc FROM runs WHERE id = ?", (run_id,)).fetchone()
        token = json.loads(row[0]).get("fencing_token") if row else None
        return int(token) if token is not None else None
