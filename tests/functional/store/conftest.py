"""One contract, every adapter: each store test runs against the DynamoDB adapters on moto
and against local mode's SQLite ones (``chalicelib/store/sqlite_*``, ``chalicelib/queue/sqlite``).

A backend fixture yields a ``Backend``: ``open()`` gives a fresh handle on the same stored
state (a second Lambda container, or local mode after a restart), so tests can race two
writers and check what a new handle reads back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib.store.schema import create_tables

TABLE = "contract-runs"
IDEMPOTENCY_TABLE = "contract-idempotency"
KINDS = ["dynamodb", "sqlite"]


@dataclass
class Backend:
    kind: str
    open: Callable[[], Any]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "dynamodb":
        request.getfixturevalue("aws_env")
        create_tables(boto3.client("dynamodb"), TABLE, IDEMPOTENCY_TABLE)
    yield request.param


@pytest.fixture
def runs(kind: str, tmp_path: Path) -> Backend:
    """``open()`` -> a RunStore."""
    if kind == "dynamodb":
        from chalicelib.store.runs import DynamoRunStore

        return Backend(kind, lambda: DynamoRunStore(TABLE))
    from chalicelib.store.sqlite_db import SqliteDatabase
    from chalicelib.store.sqlite_runs import SqliteRunStore

    return Backend(kind, lambda: SqliteRunStore(SqliteDatabase(tmp_path / "maestro.db")))


@pytest.fixture
def stores(kind: str, tmp_path: Path) -> Backend:
    """``open()`` -> (RunStore, LockStore) sharing their storage, as the services use them."""
    if kind == "dynamodb":
        from chalicelib.store.locks import DynamoLockStore
        from chalicelib.store.runs import DynamoRunStore

        return Backend(kind, lambda: (DynamoRunStore(TABLE), DynamoLockStore(TABLE)))
    from chalicelib.store.sqlite_db import SqliteDatabase
    from chalicelib.store.sqlite_locks import SqliteLockStore
    from chalicelib.store.sqlite_runs import SqliteRunStore

    def open_both() -> tuple[Any, Any]:
        db = SqliteDatabase(tmp_path / "maestro.db")
        return SqliteRunStore(db), SqliteLockStore(db)

    return Backend(kind, open_both)


@pytest.fixture
def persistence(kind: str, tmp_path: Path) -> Backend:
    """``open()`` -> a powertools persistence layer."""
    if kind == "dynamodb":
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        return Backend(kind, lambda: DynamoDBPersistenceLayer(table_name=IDEMPOTENCY_TABLE))
    from chalicelib.store.sqlite_idempotency import SqlitePersistenceLayer

    return Backend(kind, lambda: SqlitePersistenceLayer(tmp_path / "idempotency.db"))


@dataclass
class QueuePair:
    """Both sides of one queue: ``send`` (EventQueue) and ``receive``/``delete`` (consumer)."""

    sender: Any
    consumer: Any


def queue_backend(kind: str, tmp_path: Path, visibility: int, name: str) -> Backend:
    """A FIFO queue whose dead-letter queue takes a message after its third receive."""
    if kind == "dynamodb":  # the AWS side of the queue contract: SQS FIFO (moto)
        from chalicelib.queue.consumer import SqsConsumer
        from chalicelib.queue.sqs import SqsQueue

        sqs = boto3.client("sqs")
        fifo = {"FifoQueue": "true"}
        dlq_url = sqs.create_queue(QueueName=f"{name}-dlq.fifo", Attributes=fifo)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
        redrive = {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": "3"}
        url = sqs.create_queue(
            QueueName=f"{name}.fifo",
            Attributes={
                **fifo,
                "RedrivePolicy": json.dumps(redrive),
                "VisibilityTimeout": str(visibility),
            },
        )["QueueUrl"]
        return Backend("sqs", lambda: QueuePair(SqsQueue(url), SqsConsumer(url, dlq_url)))
    from chalicelib.queue.sqlite import SqliteQueue

    def open_queue() -> QueuePair:
        queue = SqliteQueue(tmp_path / f"{name}.db", visibility_seconds=visibility, max_receives=3)
        return QueuePair(queue, queue)

    return Backend("sqlite", open_queue)


@pytest.fixture
def budgets(kind: str, tmp_path: Path) -> Backend:
    """``open()`` -> (BudgetTable, BodyStore) of the write budget."""
    if kind == "dynamodb":
        from chalicelib.store.budget import DynamoBudgetTable, S3BodyStore

        boto3.client("s3").create_bucket(Bucket="contract-bodies")
        return Backend(kind, lambda: (DynamoBudgetTable(TABLE), S3BodyStore("contract-bodies")))
    from chalicelib.store.sqlite_budget import SqliteBodyStore, SqliteBudgetTable
    from chalicelib.store.sqlite_db import SqliteDatabase

    def open_both() -> tuple[Any, Any]:
        db = SqliteDatabase(tmp_path / "maestro.db")
        return SqliteBudgetTable(db), SqliteBodyStore(db)

    return Backend(kind, open_both)
