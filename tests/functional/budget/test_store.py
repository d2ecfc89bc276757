"""The budget item on DynamoDB (moto): conditional writes, the pending index, S3 bodies."""

from __future__ import annotations

import threading

import pytest

from chalicelib.budget.exceptions import BudgetContentionError
from chalicelib.budget.ledger import CLAIM_SECONDS, MAX_ATTEMPTS, BudgetLedger
from chalicelib.budget.state import BudgetScope, PendingWrite
from chalicelib.store.budget import IDLE_TTL_SECONDS, DynamoBudgetTable
from tests.functional.budget.conftest import BudgetAws

REPO = "acme/infra"
PR = BudgetScope(REPO, 12)


def comment(thread: str, body: str = "plan") -> PendingWrite:
    payload = {"pr": 12, "thread": thread, "behaviour": "update", "bodies": [body]}
    return PendingWrite(key=f"comment:{thread}", kind="comment", payload=payload)


def test_the_item_indexes_pending_writes_for_the_flush(budget_aws: BudgetAws) -> None:
    ledger = budget_aws.ledger()
    start = budget_aws.clock.now
    assert all(ledger.offer(PR, comment(f"t{n}")) for n in range(80))
    item = budget_aws.item(f"{REPO}#12")
    assert item is not None and "gsi4pk" not in item
    assert int(item["expires_at"]) == int(start) + IDLE_TTL_SECONDS  # idle budgets expire

    assert ledger.offer(PR, comment("late")) is False
    item = budget_aws.item(f"{REPO}#12")
    assert item["gsi4pk"] == "BUDGET#PENDING" and "expires_at" not in item
    assert item["gsi4sk"].startswith(f"{start + 60:017.3f}#")
    assert int(item["version"]) == 81
    assert len(item["state"]) < 3_000  # 80 request times and one pending write

    assert ledger.due_scopes() == []
    assert ledger.due_scopes(start + 60) == [PR]
    budget_aws.clock.now = start + 60
    (due,) = ledger.take_due(PR)
    assert due.payload["bodies"] == ["plan"]
    claimed = budget_aws.item(f"{REPO}#12")  # pending until settled: a dead flush loses nothing
    assert claimed["gsi4sk"].startswith(f"{start + 60 + CLAIM_SECONDS:017.3f}#")
    assert ledger.take_due(PR) == []  # another flush does not send it meanwhile
    ledger.settle(PR, due)
    assert "gsi4pk" not in budget_aws.item(f"{REPO}#12")
    assert ledger.due_scopes(start + 3600) == []


def test_a_writer_that_loses_the_race_retries_from_a_fresh_read(budget_aws: BudgetAws) -> None:
    slow, fast = budget_aws.ledger(), budget_aws.ledger()
    for n in range(79):
        assert fast.offer(PR, comment(f"t{n}"))
    table = slow._table
    assert isinstance(table, DynamoBudgetTable)
    reads = []
    original_get = table.get

    def get_then_let_the_other_writer_in(scope: BudgetScope):  # type: ignore[no-untyped-def]
        stored = original_get(scope)
        reads.append(stored[1] if stored else None)
        if len(reads) == 1:
            assert fast.offer(PR, comment("fast"))  # takes the last slot in between
        return stored

    table.get = get_then_let_the_other_writer_in  # type: ignore[method-assign]
    assert slow.offer(PR, comment("slow")) is False  # decided again on the fresh state
    assert reads == [79, 80]
    state = slow.state(PR)
    assert len(state.sent) == 80 and list(state.pending) == ["comment:slow"]
    assert state.version == 81


def atomic_requests(ledger: BudgetLedger, lock: threading.Lock) -> BudgetLedger:
    """Each DynamoDB request atomic, as in AWS; moto in one process does not lock its tables.

    Only single requests are serialised: a writer's read and its conditional write still
    interleave freely with the other writers', which is the race under test.
    """
    table = ledger._table
    assert isinstance(table, DynamoBudgetTable)
    get, put = table.get, table.put

    def locked_get(*args):  # type: ignore[no-untyped-def]
        with lock:
            return get(*args)

    def locked_put(*args):  # type: ignore[no-untyped-def]
        with lock:
            return put(*args)

    table.get, table.put = locked_get, locked_put  # type: ignore[method-assign]
    return ledger


def test_concurrent_writers_never_overspend(budget_aws: BudgetAws) -> None:
    lock = threading.Lock()
    ledgers = [atomic_requests(budget_aws.ledger(), lock) for _ in range(4)]
    results: dict[str, bool] = {}
    barrier = threading.Barrier(len(ledgers))
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            barrier.wait()
            for n in range(30):
                key = f"w{index}-{n}"
                results[key] = ledgers[index].offer(PR, comment(key))
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(len(ledgers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    sent = sorted(key for key, went in results.items() if went)
    waiting = sorted(key for key, went in results.items() if not went)
    assert len(sent) == 80 and len(waiting) == 40
    state = budget_aws.ledger().state(PR)
    assert sorted(state.pending) == [f"comment:{key}" for key in waiting]  # none lost
    assert len(state.sent) == 80


def test_contention_gives_up_after_the_attempts(budget_aws: BudgetAws) -> None:
    ledger = budget_aws.ledger()
    table = ledger._table
    assert isinstance(table, DynamoBudgetTable)
    attempts = []
    original_put = table.put

    def always_stale(scope, state, version, expected, due):  # type: ignore[no-untyped-def]
        attempts.append(expected)
        return original_put(scope, state, version, 999, due)  # a version nobody holds

    budget_aws.ledger().offer(PR, comment("first"))
    table.put = always_stale  # type: ignore[method-assign]
    with pytest.raises(BudgetContentionError):
        ledger.offer(PR, comment("second"))
    assert len(attempts) == MAX_ATTEMPTS


def test_large_pending_bodies_go_to_s3_and_leave_with_the_write(budget_aws: BudgetAws) -> None:
    ledger = budget_aws.ledger()
    for n in range(80):
        ledger.offer(PR, comment(f"t{n}"))
    big = "  # aws_s3_bucket.logs will be created\n" * 10_000  # ~390 KB: over the item limit
    for version in range(3):
        assert ledger.offer(PR, comment("plan", big + str(version))) is False
    (key,) = budget_aws.objects()
    assert key.startswith(f"feedback/{REPO}/12/comment%3Aplan/")
    assert len(budget_aws.item(f"{REPO}#12")["state"]) < 4_000

    budget_aws.clock.now += 60
    (due,) = budget_aws.ledger().take_due(PR)
    assert due.payload["bodies"] == [big + "2"]  # the latest of the three
    ledger.settle(PR, due)
    assert budget_aws.objects() == []


def test_a_status_without_a_pr_has_a_per_sha_budget(budget_aws: BudgetAws) -> None:
    ledger = budget_aws.ledger()
    scope = BudgetScope(REPO, sha="c0ffee")
    status = PendingWrite(
        key="status:c0ffee:maestrops/plan",
        kind="status",
        payload={},
        sha="c0ffee",
        context="maestrops/plan",
        final=False,
    )
    assert all(ledger.offer(scope, status) for _ in range(200))  # no per-minute limit
    item = budget_aws.item(f"{REPO}#sha-c0ffee")
    assert item is not None
    assert ledger.state(scope).statuses == {"c0ffee\x1fmaestrops/plan": 200}
    assert BudgetScope.parse(item["scope"]) == scope


def test_ledgers_share_one_budget_per_pr(budget_aws: BudgetAws) -> None:
    for n in range(80):
        assert budget_aws.ledger().offer(PR, comment(f"t{n}"))
    assert budget_aws.ledger().offer(PR, comment("x")) is False
    assert budget_aws.ledger().offer(BudgetScope(REPO, 13), comment("x")) is True
    assert isinstance(budget_aws.ledger(), BudgetLedger)
