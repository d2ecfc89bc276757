"""An in-memory powertools persistence layer: the same semantics as DynamoDB's, no I/O.

Used by tests and benchmarks, and by anyone embedding the ingress without AWS.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import (
    STATUS_CONSTANTS,
    BasePersistenceLayer,
    DataRecord,
)


class InMemoryPersistenceLayer(BasePersistenceLayer):
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._records: dict[str, DataRecord] = {}
        self._clock = clock

    def _get_record(self, idempotency_key: str) -> DataRecord:
        record = self._records.get(idempotency_key)
        if record is None:
            raise IdempotencyItemNotFoundError
        return record

    def _put_record(self, data_record: DataRecord) -> None:
        existing = self._records.get(data_record.idempotency_key)
        if existing is not None and not self._replaceable(existing):
            raise IdempotencyItemAlreadyExistsError(old_data_record=existing)
        self._records[data_record.idempotency_key] = data_record

    def _update_record(self, data_record: DataRecord) -> None:
        self._records[data_record.idempotency_key] = data_record

    def _delete_record(self, data_record: DataRecord) -> None:
        self._records.pop(data_record.idempotency_key, None)

    def _replaceable(self, record: DataRecord) -> bool:
        now = self._clock()
        if record.expiry_timestamp is not None and record.expiry_timestamp < now:
            return True
        in_progress_expiry = record.in_progress_expiry_timestamp
        return (
            record.status == STATUS_CONSTANTS["INPROGRESS"]
            and in_progress_expiry is not None
            and in_progress_expiry < now * 1000
        )
