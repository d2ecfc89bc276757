"""The pure lease logic: grants, queueing, expiry, fencing, with a clock passed by hand."""

from __future__ import annotations

import pytest

from chalicelib.locks.exceptions import LockNotFoundError
from chalicelib.locks.lease import (
    Claimant,
    Lease,
    LockKey,
    acquire,
    expire,
    fence_problem,
    release,
    skip_holder,
)

KEY = LockKey(repo="o/r", directory="terraform/infra", workspace="default")
HOUR = 3600.0


def plan(pr: int, run: str | None = None) -> Claimant:
    return Claimant(pr=pr, run_id=run or f"run-{pr}", clone_url=f"https://example/{pr}")


def take(lease: Lease, claimant: Claimant, now: float):
    change, grant = acquire(lease, claimant, now, duration=HOUR)
    return change.lease, grant, change.promoted


def test_first_plan_takes_the_lease_with_token_one() -> None:
    lease, grant, promoted = take(Lease(key=KEY), plan(1), now=0)
    assert grant.granted and grant.token == 1 and promoted is None
    assert lease.holder is not None and lease.holder.pr == 1 and lease.expires_at == HOUR
    assert lease.held(HOUR - 1) and not lease.held(HOUR)


def test_another_pr_waits_and_same_pr_renews_without_a_new_token() -> None:
    lease, _, _ = take(Lease(key=KEY), plan(1), now=0)
    lease, grant, _ = take(lease, plan(2), now=10)
    assert not grant.granted and grant.holder.pr == 1 and grant.position == 1
    lease, grant, _ = take(lease, plan(1, "run-1b"), now=20)
    assert grant.granted and grant.token == 1  # a re-plan of the holder keeps its token
    assert lease.holder.run_id == "run-1b" and lease.expires_at == 20 + HOUR
    assert lease.holder.since == 0  # held since the first plan
    assert [w.pr for w in lease.waiters] == [2]


def test_queue_is_first_come_first_served_and_a_replan_keeps_its_place() -> None:
    lease, _, _ = take(Lease(key=KEY), plan(1), now=0)
    for now, pr in ((1, 2), (2, 3), (3, 4)):
        lease, _, _ = take(lease, plan(pr), now=now)
    lease, grant, _ = take(lease, plan(2, "run-2b"), now=4)  # PR 2 pushed again
    assert grant.position == 1
    assert [(w.pr, w.run_id, w.since) for w in lease.waiters] == [
        (2, "run-2b", 1), (3, "run-3", 2), (4, "run-4", 3)
    ]  # fmt: skip
    change = release(lease, now=5, pr=1, duration=HOUR)
    assert change.promoted is not None and change.promoted.run_id == "run-2b"
    assert change.lease.fencing_token == 2 and [w.pr for w in change.lease.waiters] == [3, 4]


def test_release_by_a_pr_that_does_not_hold_only_leaves_the_queue() -> None:
    lease, _, _ = take(Lease(key=KEY), plan(1), now=0)
    lease, _, _ = take(lease, plan(2), now=1)
    change = release(lease, now=2, pr=2)
    assert change.promoted is None and change.lease.holder.pr == 1 and change.lease.waiters == []
    assert release(Lease(key=KEY), now=0, pr=9).lease == Lease(key=KEY)


def test_release_without_waiters_frees_and_keeps_the_token() -> None:
    lease, _, _ = take(Lease(key=KEY), plan(1), now=0)
    freed = release(lease, now=5).lease
    assert freed.holder is None and freed.expires_at is None and freed.fencing_token == 1
    lease, grant, _ = take(freed, plan(3), now=6)
    assert grant.token == 2  # tokens only grow, across free periods too


def test_expiry_passes_the_lease_to_the_head_of_the_queue() -> None:
    lease, _, _ = take(Lease(key=KEY), plan(1), now=0)
    lease, _, _ = take(lease, plan(2), now=1)
    assert expire(lease, now=HOUR - 1).lease == lease  # not yet
    change = expire(lease, now=HOUR)
    assert change.promoted is not None and change.promoted.pr == 2
    assert change.lease.fencing_token == 2 and change.lease.expires_at is not None


def test_late_claimant_on_an_expired_lease_does_not_jump_the_queue() -> None:
    lease, _, _ = take(Lease(key=KEY), plan(1), now=0)
    lease, _, _ = take(lease, plan(2), now=1)
    lease, grant, promoted = take(lease, plan(3), now=2 * HOUR)
    assert promoted is not None and promoted.pr == 2  # the waiter got it first
    assert not grant.granted and grant.holder.pr == 2 and grant.position == 1


def test_expired_holder_that_plans_again_gets_a_new_token() -> None:
    lease, _, _ = take(Lease(key=KEY), plan(1), now=0)
    lease, grant, _ = take(lease, plan(1, "run-1b"), now=2 * HOUR)
    assert grant.granted and grant.token == 2


def test_fencing_refuses_every_holder_that_lost_its_lease() -> None:
    lease, _, _ = take(Lease(key=KEY), plan(1), now=0)
    assert fence_problem(lease, pr=1, token=1, now=10) is None
    assert "expired" in (fence_problem(lease, pr=1, token=1, now=HOUR) or "")
    assert "held by PR #1" in (fence_problem(lease, pr=2, token=1, now=10) or "")
    taken = release(lease, now=10).lease
    taken, _, _ = take(taken, plan(2), now=11)
    assert "held by PR #2" in (fence_problem(taken, pr=1, token=1, now=12) or "")
    again, _, _ = take(release(taken, now=13).lease, plan(1, "run-1c"), now=14)
    assert again.fencing_token == 3
    assert "fencing token 1" in (fence_problem(again, pr=1, token=1, now=15) or "")
    assert fence_problem(again, pr=1, token=3, now=15) is None
    assert fence_problem(None, pr=1, token=1, now=0) == "no lock is held on this workspace"


def test_a_token_source_that_goes_backwards_is_refused() -> None:
    lease = Lease(key=KEY, fencing_token=5)
    with pytest.raises(ValueError, match="not above 5"):
        acquire(lease, plan(1), now=0, next_token=lambda last: last)


def test_injected_token_source_is_used() -> None:
    change, grant = acquire(Lease(key=KEY, fencing_token=2), plan(1), 0, next_token=lambda _: 40)
    assert grant.token == 40 and change.lease.fencing_token == 40


def test_skip_holder_passes_a_dead_promotion_on() -> None:
    lease, _, _ = take(Lease(key=KEY), plan(1), now=0)
    lease, _, _ = take(lease, plan(2), now=1)
    lease, _, _ = take(lease, plan(3), now=2)
    promoted = release(lease, now=3, pr=1).lease
    change = skip_holder(promoted, "run-2", now=4)
    assert change.promoted is not None and change.promoted.pr == 3
    assert skip_holder(promoted, "run-other", now=4).lease == promoted


def test_lock_ids_round_trip_and_garbage_is_not_found() -> None:
    assert LockKey.from_id(KEY.id) == KEY
    assert "/" not in KEY.id and "=" not in KEY.id
    for bad in ("!!!", "", LockKey(repo="o/r", directory="d", workspace="w").id[:-3]):
        with pytest.raises(LockNotFoundError):
            LockKey.from_id(bad)


def test_unlock_releases_what_a_pr_holds_but_keeps_its_place_in_queues() -> None:
    lease, _, _ = take(Lease(key=KEY), plan(1), now=0)
    lease, _, _ = take(lease, plan(2), now=1)
    kept = release(lease, now=2, pr=2, leave_queue=False).lease
    assert kept == lease  # PR 2 holds nothing here and keeps waiting
    change = release(lease, now=2, pr=1, leave_queue=False)
    assert change.promoted is not None and change.promoted.pr == 2
