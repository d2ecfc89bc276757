"""One SQLite file shared by local mode's stores (runs, counters, leases, idempotency).

Local mode keeps its state on disk so that ``maestro serve`` stopped and started again on
the same data dir finds every run, lease, counter and delivery record where it left them.
SQLite in WAL mode gives what the DynamoDB adapters get from conditional writes: a write
transaction (``BEGIN IMMEDIATE``) reads, decides and writes with no other writer in
between, in this process or another one on the same file.

One connection per database object, guarded by a lock: the local controller's threads
(HTTP requests, the event loop) take turns, and each statement is tens of microseconds.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BUSY_TIMEOUT_MS = 30_000  # another process holding the write lock: wait, do not fail


class SqliteDatabase:
    """``with db.write() as conn:`` is one atomic read-decide-write; ``db.read()`` for reads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a committed write survives the process being killed (the OS
        # has it); only a power cut may lose the last transactions. Local mode's trade.
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._depth = 0

    def ensure_schema(self, script: str) -> None:
        """Create what ``script`` declares (``CREATE ... IF NOT EXISTS`` statements)."""
        with self.write() as conn:
            _run_script(conn, script)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested uses join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    """``executescript`` would commit the open transaction; run statement by statement."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)
