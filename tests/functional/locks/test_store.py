"""The DynamoDB lease store on moto: conditional writes under races, tokens across TTL."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from chalicelib.locks.exceptions import LockContentionError
from chalicelib.locks.lease import Claimant, Lease, LockKey, acquire
from chalicelib.store.locks import DynamoLockStore, lock_pk
from chalicelib.store.schema import create_tables

TABLE = "locks-test"
KEY = LockKey(repo="o/r", directory="terraform/infra", workspace="default")


@pytest.fixture
def store(aws_env: None) -> Iterator[DynamoLockStore]:
    create_tables(boto3.client("dynamodb"), TABLE, "locks-test-idempotency")
    yield DynamoLockStore(TABLE)


def taking(pr: int, now: float = 0.0):
    def decide(lease: Lease, next_token):
        change, grant = acquire(lease, Claimant(pr=pr, run_id=f"run-{pr}"), now, 3600, next_token)
        return change.lease, grant

    return decide


def test_the_loser_of_a_race_reads_again_and_queues(store: DynamoLockStore) -> None:
    rival = DynamoLockStore(TABLE)
    calls = []

    def racing(lease: Lease, next_token):
        calls.append(lease.version)
        if len(calls) == 1:  # between our read and our write, PR 8 takes the lease
            assert rival.change(KEY, taking(8)).granted
        return taking(7)(lease, next_token)

    grant = store.change(KEY, racing)
    assert calls == [0, 1]  # read, lost the conditional write, read again
    assert not grant.granted and grant.holder.pr == 8 and grant.position == 1
    lease = store.get(KEY)
    assert lease.holder.pr == 8 and [w.pr for w in lease.waiters] == [7] and lease.version == 2


def test_writers_that_never_stop_racing_give_up_with_an_error(store: DynamoLockStore) -> None:
    rival = DynamoLockStore(TABLE)

    rivals = iter(range(100, 200))

    def always_racing(lease: Lease, next_token):
        rival.change(KEY, taking(next(rivals)))  # someone else writes every time first
        return taking(7)(lease, next_token)

    with pytest.raises(LockContentionError, match="kept changing"):
        store.change(KEY, always_racing)


def test_tokens_keep_growing_after_the_lease_item_expired_away(store: DynamoLockStore) -> None:
    assert store.change(KEY, taking(7)).token == 1
    boto3.resource("dynamodb").Table(TABLE).delete_item(Key=lock_pk(KEY))  # what TTL does
    assert store.get(KEY) is None
    assert store.change(KEY, taking(8)).token == 2


def test_listing_by_repository(store: DynamoLockStore) -> None:
    other = LockKey(repo="o/r2", directory="infra", workspace="prod")
    store.change(KEY, taking(7))
    store.change(other, taking(1))
    assert [lease.key for lease in store.find()] == [KEY, other]
    assert [lease.key for lease in store.find("o/r")] == [KEY]
    assert store.find("o/none") == []
