"""The write budget's table and pending bodies on SQLite: local mode with a write budget.

The same contracts as ``chalicelib.store.budget.DynamoBudgetTable`` and ``S3BodyStore``
(``BudgetTable`` and ``BodyStore`` of ``chalicelib.budget.state``): ``put`` holds only if the
stored version is the one the caller read, and ``due_scopes`` lists the budgets with writes
waiting, soonest first. Kept in the run store's file, so held-back comments and statuses
are still sent after a restart.
"""

from __future__ import annotations

from chalicelib.budget.state import BudgetScope
from chalicelib.store.sqlite_db import SqliteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS budgets (
    scope TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    due REAL
);
CREATE INDEX IF NOT EXISTS budgets_due ON budgets (due);
CREATE TABLE IF NOT EXISTS budget_bodies (key TEXT PRIMARY KEY, data BLOB NOT NULL)
"""


class SqliteBudgetTable:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        db.ensure_schema(SCHEMA)

    def get(self, scope: BudgetScope) -> tuple[str, int] | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT state, version FROM budgets WHERE scope = ?", (scope.name,)
            ).fetchone()
        return (row[0], int(row[1])) if row else None

    def put(
        self, scope: BudgetScope, state: str, version: int, expected: int | None, due: float | None
    ) -> bool:
        """Write if the stored version is still ``expected`` (``None``: nothing stored)."""
        with self._db.write() as conn:
            row = conn.execute("SELECT version FROM budgets WHERE scope = ?", (scope.name,))
            found = row.fetchone()
            if (int(found[0]) if found else None) != expected:
                return False  # another writer won; the caller reads again
            conn.execute(
                "INSERT INTO budgets (scope, state, version, due) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (scope) DO UPDATE SET state = excluded.state, "
                "version = excluded.version, due = excluded.due",
                (scope.name, state, version, due),
            )
        return True

    def due_scopes(self, now: float) -> list[BudgetScope]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT scope FROM budgets WHERE due IS NOT NULL AND due <= ? ORDER BY due, scope",
                (now,),
            ).fetchall()
        return [BudgetScope.parse(row[0]) for row in rows]


class SqliteBodyStore:
    """Pending comment bodies too large to keep inline in a budget's state."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        db.ensure_schema(SCHEMA)

    def put(self, key: str, data: bytes) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO budget_bodies (key, data) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET data = excluded.data",
                (key, data),
            )

    def get(self, key: str) -> bytes:
        with self._db.read() as conn:
            row = conn.execute("SELECT data FROM budget_bodies WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return bytes(row[0])

    def delete(self, key: str) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM budget_bodies WHERE key = ?", (key,))
