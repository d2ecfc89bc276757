"""The lease store contract (``chalicelib.locks.gate.LockStore``), DynamoDB and SQLite alike."""

from __future__ import annotations

import pytest

from chalicelib.locks.lease import Claimant, Lease, LockKey, acquire, release
from chalicelib.runs.exceptions import RunNotFoundError
from chalicelib.runs.model import Run
from tests.functional.store.conftest import Backend

KEY = LockKey(repo="acme/infra", directory="terraform/infra", workspace="default")
HOUR = 3600.0


def taking(pr: int, now: float = 0.0):
    def decide(lease: Lease, next_token):
        change, grant = acquire(lease, Claimant(pr=pr, run_id=f"run-{pr}"), now, HOUR, next_token)
        return change.lease, grant

    return decide


def releasing(pr: int, now: float = 0.0):
    def decide(lease: Lease, next_token):
        change = release(lease, now, pr=pr, duration=HOUR, next_token=next_token)
        return change.lease, change

    return decide


def test_no_lease_until_one_is_taken(stores: Backend) -> None:
    _, locks = stores.open()
    assert locks.get(KEY) is None
    assert locks.find() == []


def test_the_first_pr_holds_the_next_waits_and_is_promoted_with_a_larger_token(
    stores: Backend,
) -> None:
    _, locks = stores.open()
    first = locks.change(KEY, taking(1))
    second = locks.change(KEY, taking(2))
    assert first.granted and first.token == 1
    assert not second.granted and second.holder.pr == 1 and second.position == 1
    change = locks.change(KEY, releasing(1))
    assert change.promoted is not None and change.promoted.pr == 2
    lease = stores.open()[1].get(KEY)  # as a new handle (a restart) reads it
    assert lease.holder.pr == 2 and lease.fencing_token == 2 and lease.waiters == []
    assert lease.version == 3


def test_tokens_only_grow_across_releases(stores: Backend) -> None:
    _, locks = stores.open()
    tokens = []
    for pr in (1, 2, 3):
        tokens.append(locks.change(KEY, taking(pr)).token)
        locks.change(KEY, releasing(pr))
    assert tokens == [1, 2, 3]
    assert stores.open()[1].change(KEY, taking(9)).token == 4


def test_a_decision_that_changes_nothing_writes_nothing(stores: Backend) -> None:
    _, locks = stores.open()
    locks.change(KEY, taking(1))
    locks.change(KEY, releasing(5))  # PR 5 holds nothing
    assert locks.get(KEY).version == 1


def test_find_lists_leases_by_repository_in_name_order(stores: Backend) -> None:
    _, locks = stores.open()
    other = LockKey(repo="acme/app", directory="infra", workspace="default")
    second = KEY.model_copy(update={"workspace": "staging"})
    for key in (second, other, KEY):
        locks.change(key, taking(1))
    assert [lease.key for lease in locks.find()] == [other, KEY, second]
    assert [lease.key for lease in locks.find("acme/infra")] == [KEY, second]


def test_grants_and_waits_are_recorded_on_the_run(stores: Backend) -> None:
    runs, locks = stores.open()
    runs.create(Run(id="run-7", repo="acme/infra", pipeline="terraform-plan", sha="a" * 40))
    assert locks.granted_token("run-7") is None
    locks.record_wait("run-7", holder_pr=3, lock_id=KEY.id)
    assert runs.get("run-7").waiting_for == 3
    locks.record_grant("run-7", 5)
    run = stores.open()[0].get("run-7")
    assert run.fencing_token == 5 and run.waiting_for is None
    assert stores.open()[1].granted_token("run-7") == 5
    assert locks.granted_token("run-404") is None


def test_a_grant_for_a_missing_run_creates_nothing(stores: Backend) -> None:
    runs, locks = stores.open()
    with pytest.raises(Exception):  # noqa: B017 - each adapter has its own error; none passes
        locks.record_grant("run-404", 1)
    with pytest.raises(RunNotFoundError):
        runs.get("run-404")
    assert locks.granted_token("run-404") is None
