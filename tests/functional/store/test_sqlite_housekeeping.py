"""What DynamoDB's TTL does in AWS, local mode's loop does with its schedules."""

from __future__ import annotations

from pathlib import Path

from aws_lambda_powertools.utilities.idempotency.persistence.base import DataRecord

from chalicelib.store.sqlite_idempotency import SqlitePersistenceLayer


def test_expired_delivery_records_are_purged_and_live_ones_kept(tmp_path: Path) -> None:
    now = 1_800_000_000.0
    layer = SqlitePersistenceLayer(tmp_path / "idempotency.db", clock=lambda: now)
    for key, expiry in (("old", now - 1), ("live", now + 3600)):
        layer._put_record(
            DataRecord(idempotency_key=key, status="COMPLETED", expiry_timestamp=int(expiry))
        )
    assert layer.purge_expired() == 1
    assert layer.purge_expired() == 0
    reopened = SqlitePersistenceLayer(tmp_path / "idempotency.db", clock=lambda: now)
    assert reopened._get_record("live").idempotency_key == "live"
