"""powertools idempotency records on SQLite: local mode's webhook dedupe, durable.

``BasePersistenceLayer`` holds the logic; this implements its four primitives the way
``DynamoDBPersistenceLayer`` does. The conditional put is one statement: the insert
replaces an existing record only if it may be replaced::

    |     LOCKED     |   replaceable if INPROGRESS and its in-progress expiry passed  |  replaceable
    |----------------|----------------------------------------------------------------|-----> time
    save_inprogress  in_progress_expiry (invocation timeout)                    expiry (record TTL)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import (
    STATUS_CONSTANTS,
    BasePersistenceLayer,
    DataRecord,
)

from chalicelib.store.sqlite_db import SqliteDatabase

SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    expiration INTEGER,
    in_progress_expiration INTEGER,
    data TEXT NOT NULL DEFAULT '',
    validation TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS idempotency_expiration ON idempotency (expiration)
"""
_COLUMNS = "id, status, expiration, in_progress_expiration, data, validation"
# Written if the key is new, or its record expired, or it is in progress past its deadline.
_CONDITIONAL_PUT = """
INSERT INTO idempotency (id, status, expiration, in_progress_expiration, data, validation)
VALUES (:id, :status, :expiration, :in_progress_expiration, :data, :validation)
ON CONFLICT (id) DO UPDATE SET
    status = excluded.status,
    expiration = excluded.expiration,
    in_progress_expiration = excluded.in_progress_expiration,
    data = excluded.data,
    validation = excluded.validation
WHERE idempotency.expiration < :now
   OR (idempotency.status = :inprogress
       AND idempotency.in_progress_expiration IS NOT NULL
       AND idempotency.in_progress_expiration < :now_ms)
"""


class SqlitePersistenceLayer(BasePersistenceLayer):
    """``SqlitePersistenceLayer(path)``, or a shared ``SqliteDatabase``; ``clock`` in seconds."""

    def __init__(
        self, database: SqliteDatabase | str | Path, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__()
        self._db = database if isinstance(database, SqliteDatabase) else SqliteDatabase(database)
        self._db.ensure_schema(SCHEMA)
        self._clock = clock

    def _get_record(self, idempotency_key: str) -> DataRecord:
        with self._db.read() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM idempotency WHERE id = ?", (idempotency_key,)
            ).fetchone()
        if row is None:
            raise IdempotencyItemNotFoundError
        return _record(row)

    def _put_record(self, data_record: DataRecord) -> None:
        now = self._clock()
        values = {
            "id": data_record.idempotency_key,
            "status": data_record.status,
            "expiration": data_record.expiry_timestamp,
            "in_progress_expiration": data_record.in_progress_expiry_timestamp,
            "data": data_record.response_data or "",
            "validation": data_record.payload_hash if self.payload_validation_enabled else "",
            "now": int(now),
            "now_ms": int(now * 1000),
            "inprogress": STATUS_CONSTANTS["INPROGRESS"],
        }
        with self._db.write() as conn:
            written = conn.execute(_CONDITIONAL_PUT, values).rowcount
            if written:
                return
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM idempotency WHERE id = ?", (data_record.idempotency_key,)
            ).fetchone()
        old = _record(row)
        self._validate_payload(data_payload=data_record, stored_data_record=old)
        self._save_to_cache(data_record=old)
        raise IdempotencyItemAlreadyExistsError(old_data_record=old)

    def _update_record(self, data_record: DataRecord) -> None:
        with self._db.write() as conn:
            conn.execute(
                "UPDATE idempotency SET data = ?, expiration = ?, status = ?, validation = ? "
                "WHERE id = ?",
                (
                    data_record.response_data or "",
                    data_record.expiry_timestamp,
                    data_record.status,
                    data_record.payload_hash if self.payload_validation_enabled else "",
                    data_record.idempotency_key,
                ),
            )

    def _delete_record(self, data_record: DataRecord) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM idempotency WHERE id = ?", (data_record.idempotency_key,))

    def purge_expired(self) -> int:
        """Delete records past their expiry (DynamoDB's TTL does this in AWS)."""
        with self._db.write() as conn:
            return int(
                conn.execute(
                    "DELETE FROM idempotency WHERE expiration < ?", (int(self._clock()),)
                ).rowcount
            )


def _record(row: Any) -> DataRecord:
    return DataRecord(
        idempotency_key=row["id"],
        status=row["status"],
        expiry_timestamp=row["expiration"],
        in_progress_expiry_timestamp=row["in_progress_expiration"],
        response_data=row["data"],
        payload_hash=row["validation"],
    )
