from __future__ import annotations

from chalicelib.feedback.budget import StatusKey, WriteBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_eighty_a_minute_then_coalesced() -> None:
    clock = Clock()
    budget: WriteBudget[str] = WriteBudget(clock=clock)

    sent = [budget.offer("o/r#1", f"thread-{i}", f"body-{i}") for i in range(80)]
    assert all(s is not None for s in sent)

    assert budget.offer("o/r#1", "thread-x", "v1") is None
    assert budget.offer("o/r#1", "thread-x", "v2") is None  # replaces v1: coalesced
    assert budget.pending("o/r#1") == {"thread-x": "v2"}
    assert budget.due("o/r#1") == []
    assert budget.next_due_at("o/r#1") == 1_000.75  # one token per 60/80 s

    clock.now += 0.75
    assert budget.due("o/r#1") == [("thread-x", "v2")]
    assert budget.pending("o/r#1") == {}


def test_other_prs_have_their_own_budget() -> None:
    budget: WriteBudget[int] = WriteBudget(per_minute=1, clock=Clock())
    assert budget.offer("o/r#1", "t", 1) == 1
    assert budget.offer("o/r#1", "t", 2) is None
    assert budget.offer("o/r#2", "t", 3) == 3


def test_a_burst_gets_eighty() -> None:
    budget: WriteBudget[int] = WriteBudget(clock=Clock())
    assert sum(budget.offer("p", f"t{i}", i) is not None for i in range(600)) == 80
    assert len(budget.pending("p")) == 520  # one pending write per key, none lost


def test_hour_bucket_caps_a_sustained_rate() -> None:
    clock = Clock()
    budget: WriteBudget[int] = WriteBudget(clock=clock)
    sent = 0
    for second in range(0, 600):  # ten minutes of one write a second per key
        clock.now = 1_000.0 + second
        sent += budget.offer("o/r#1", f"t{second}", second) is not None
    # 500 at start, then 500/3600 per second: well below the 600 offered
    assert sent == 500 + int(599 * 500 / 3600)


def test_status_cap_keeps_the_last_slot_for_a_final_state() -> None:
    clock = Clock()
    budget: WriteBudget[str] = WriteBudget(statuses_per_context=3, clock=clock)
    key = StatusKey(sha="abc", context="maestrops/terraform-plan")

    assert budget.offer("p", "s", "pending-1", status=key, final=False) == "pending-1"
    assert budget.offer("p", "s", "pending-2", status=key, final=False) == "pending-2"
    assert budget.offer("p", "s", "pending-3", status=key, final=False) is None
    clock.now += 3_600
    assert budget.due("p") == []  # still waiting for a final state
    assert budget.offer("p", "s", "success", status=key, final=True) == "success"
    assert budget.pending("p") == {}
    assert budget.offer("p", "s", "again", status=key, final=True) is None
