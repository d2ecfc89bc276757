from __future__ import annotations

import json

import pytest

from chalicelib.budget.ledger import CLAIM_SECONDS, INLINE_BODY_BYTES, MAX_ATTEMPTS, BudgetLedger
from chalicelib.budget.state import BudgetScope
from chalicelib.githost.base import CommitStatus
from chalicelib.githost.budgeted import (
    MAX_SEND_ATTEMPTS,
    BudgetedGitHost,
    budget_enabled,
)
from chalicelib.settings import Settings
from chalicelib.store.budget import MemoryBodyStore, MemoryBudgetTable
from tests.unit.budget.fakes import Clock, RecordingHost

REPO = "octo/infra"


class Rig:
    def __init__(self) -> None:
        self.clock = Clock()
        self.table = MemoryBudgetTable()
        self.bodies = MemoryBodyStore()
        self.github = RecordingHost(clock=self.clock)
        self.host = self.new_invocation()

    def new_invocation(self) -> BudgetedGitHost:
        """A fresh host and ledger on the same storage, as a new Lambda invocation builds."""
        ledger = BudgetLedger(self.table, self.bodies, clock=self.clock)
        return BudgetedGitHost(self.github, ledger)

    def state(self, pr: int):
        return BudgetLedger(self.table, self.bodies, clock=self.clock).state(BudgetScope(REPO, pr))


def status(context: str, state: str = "pending", description: str = "") -> CommitStatus:
    return CommitStatus(context=context, state=state, description=description)  # type: ignore[arg-type]


def test_eighty_comments_a_minute_then_the_81st_waits_for_the_refill() -> None:
    rig = Rig()
    start = rig.clock.now
    ids = [rig.host.post_comment(REPO, 7, f"body {n}", thread=f"t{n}") for n in range(81)]

    assert len(rig.github.writes) == 80
    assert ids[79] == "id-80"
    assert ids[80] == "pending:t80"
    assert list(rig.state(7).pending) == ["comment:t80"]

    rig.clock.now = start + 59.9  # the 80 are still within the last minute
    assert rig.host.flush().sent == []
    rig.clock.now = start + 60
    report = rig.host.flush()
    assert report.sent == [f"{REPO}#7 comment:t80"]
    assert rig.github.writes[-1] == ("comment", REPO, 7, "t80", "body 80")
    assert rig.state(7).pending == {}


def test_the_budget_holds_across_invocations() -> None:
    rig = Rig()
    for n in range(80):
        rig.new_invocation().post_comment(REPO, 7, f"body {n}", thread=f"t{n}")
    later = rig.new_invocation()
    assert later.post_comment(REPO, 7, "one too many", thread="x") == "pending:x"
    assert len(rig.github.writes) == 80
    # Another PR has a budget of its own.
    assert rig.new_invocation().post_comment(REPO, 8, "hello", thread="x") == "id-81"


def test_five_updates_of_one_thread_while_exhausted_send_only_the_last() -> None:
    rig = Rig()
    for n in range(80):
        rig.host.post_comment(REPO, 7, "filler", thread=f"f{n}")
    for n in range(5):
        rig.clock.now += 0.1  # never a whole token between two updates
        assert rig.host.post_comment(REPO, 7, f"plan v{n}", thread="plan") == "pending:plan"
    assert len(rig.state(7).pending) == 1

    rig.clock.now += 60
    assert rig.host.flush().sent == [f"{REPO}#7 comment:plan"]
    assert rig.github.comments("plan") == ["plan v4"]
    assert rig.host.flush().sent == []  # nothing left to send twice
    assert rig.github.comments("plan") == ["plan v4"]


def test_a_write_allowed_now_supersedes_the_pending_one_of_its_key() -> None:
    rig = Rig()
    for n in range(80):
        rig.host.post_comment(REPO, 7, "filler", thread=f"f{n}")
    rig.host.post_comment(REPO, 7, "old", thread="plan")
    rig.clock.now += 60
    assert rig.host.post_comment(REPO, 7, "new", thread="plan").startswith("id-")
    rig.clock.now += 60
    assert rig.host.flush().sent == []
    assert rig.github.comments("plan") == ["new"]


def test_five_hundred_an_hour() -> None:
    rig = Rig()
    start = rig.clock.now
    for minute in range(8):
        rig.clock.now = start + 60 * minute
        for n in range(80):
            rig.host.post_comment(REPO, 7, "x", thread=f"m{minute}-{n}")
    assert len(rig.github.writes) == 500  # six full minutes and 20 of the seventh
    assert len(rig.state(7).pending) == 140
    rig.clock.now = start + 3599
    assert rig.host.flush().sent == []
    rig.clock.now = start + 3600  # the first minute's 80 leave the hour
    assert len(rig.host.flush().sent) == 80
    rig.clock.now = start + 3660
    assert len(rig.host.flush().sent) == 60
    assert len(rig.github.writes) == 640


def test_a_thousand_statuses_per_sha_and_context_the_last_kept_for_a_final_state() -> None:
    rig = Rig()
    for n in range(1_000):
        rig.host.set_status(REPO, "abc", status("maestrops/plan", description=f"step {n}"))
    sent = [w for w in rig.github.writes if w[0] == "status"]
    assert len(sent) == 999  # push pipeline: no PR, so only the per sha/context cap applies
    ledger = BudgetLedger(rig.table, rig.bodies, clock=rig.clock)
    scope = BudgetScope(REPO, sha="abc")
    assert list(ledger.state(scope).pending) == ["status:abc:maestrops/plan"]
    assert ledger.due_scopes() == []  # nothing a flush could send

    rig.host.set_status(REPO, "abc", status("maestrops/plan", "success", "done"))
    assert rig.github.writes[-1][4:] == ("success", "done")
    assert ledger.state(scope).pending == {}  # the final state replaced the waiting one

    rig.host.set_status(REPO, "abc", status("maestrops/plan", "failure", "late"))
    assert rig.github.writes[-1][4:] == ("success", "done")  # GitHub would refuse a 1,001st
    rig.host.set_status(REPO, "abc", status("maestrops/apply"))  # another context: its own cap
    rig.host.set_status(REPO, "def", status("maestrops/plan"))  # another sha too
    assert [w[2:4] for w in rig.github.writes[-2:]] == [
        ("abc", "maestrops/apply"),
        ("def", "maestrops/plan"),
    ]


def test_statuses_of_a_known_pr_spend_the_prs_tokens() -> None:
    rig = Rig()
    for n in range(80):
        rig.host.post_comment(REPO, 7, "x", thread=f"t{n}")
    rig.host.set_status(REPO, "abc", status("maestrops/plan", "success"), pr=7)
    assert rig.github.writes[-1][0] == "comment"
    assert list(rig.state(7).pending) == ["status:abc:maestrops/plan"]
    rig.clock.now += 60
    assert rig.host.flush().sent == [f"{REPO}#7 status:abc:maestrops/plan"]
    assert rig.github.writes[-1][:5] == ("status", REPO, "abc", "maestrops/plan", "success")


def test_a_split_comment_costs_one_token_per_part() -> None:
    rig = Rig()
    for n in range(78):
        rig.host.post_comment(REPO, 7, "x", thread=f"t{n}")
    assert rig.host.post_comment_parts(REPO, 7, ["a", "b", "c"], thread="plan") == ["pending:plan"]
    rig.clock.now += 59  # still two slots: not enough for three parts
    assert rig.host.flush().sent == []
    rig.clock.now += 1
    assert rig.host.flush().sent == [f"{REPO}#7 comment:plan"]
    assert rig.github.writes[-1] == ("parts", REPO, 7, "plan", ("a", "b", "c"))


def test_other_methods_pass_through() -> None:
    rig = Rig()
    assert rig.host.read_file(REPO, "a.tf", "abc") == f"{REPO}:a.tf@abc"
    assert rig.host.has_write_access(REPO, "octocat") is True
    assert rig.host.repository_role(REPO, "octocat") == "write"
    assert rig.host.pull_request_status(REPO, 7) == "open"
    rig.host.add_reaction(REPO, 12, "eyes")
    assert rig.host.inner is rig.github
    with pytest.raises(AttributeError):
        rig.host.no_such_method  # type: ignore[attr-defined]  # noqa: B018
    assert rig.table.items == {}  # reads spend nothing


def test_large_pending_bodies_live_in_the_body_store_until_sent() -> None:
    rig = Rig()
    for n in range(80):
        rig.host.post_comment(REPO, 7, "x", thread=f"t{n}")
    big = "resource change\n" * 20_000  # 320 KB: would not fit an item
    for version in range(3):
        rig.host.post_comment(REPO, 7, big + f"v{version}", thread="plan")
    assert len(rig.bodies.objects) == 1  # replaced bodies were deleted
    (key,) = rig.bodies.objects
    assert key.startswith(f"feedback/{REPO}/7/comment%3Aplan/")
    state, _, _ = rig.table.items[f"{REPO}#7"]
    assert len(state) < 4_000  # the item holds a pointer, not the 320 KB body
    assert json.loads(state)["pending"][0]["body_ref"] == key

    rig.clock.now += 60
    rig.host.flush()
    assert rig.github.comments("plan") == [big + "v2"]
    assert rig.bodies.objects == {}


def test_small_bodies_stay_inline() -> None:
    rig = Rig()
    for n in range(81):
        rig.host.post_comment(REPO, 7, "y" * (INLINE_BODY_BYTES - 10), thread=f"t{n}")
    assert rig.bodies.objects == {}


def test_a_failed_send_is_kept_then_sent() -> None:
    rig = Rig()
    for n in range(80):
        rig.host.post_comment(REPO, 7, "x", thread=f"t{n}")
    rig.host.post_comment(REPO, 7, "keep me", thread="plan")
    rig.clock.now += 60
    rig.github.fail = 1
    report = rig.host.flush()
    assert report.requeued == [f"{REPO}#7 comment:plan"]
    rig.clock.now += 1
    assert rig.host.flush().sent == [f"{REPO}#7 comment:plan"]
    assert rig.github.comments("plan") == ["keep me"]


def test_a_write_that_keeps_failing_is_dropped_after_its_retries() -> None:
    rig = Rig()
    for n in range(80):
        rig.host.post_comment(REPO, 7, "x", thread=f"t{n}")
    assert rig.host.post_comment(REPO, 7, "doomed", thread="doomed") == "pending:doomed"
    rig.github.fail = MAX_SEND_ATTEMPTS
    dropped = []
    for _ in range(MAX_SEND_ATTEMPTS):
        rig.clock.now += 60
        dropped += rig.host.flush().dropped
    assert dropped == [f"{REPO}#7 comment:doomed"]
    assert rig.state(7).pending == {}


def test_nothing_is_lost_and_the_limits_hold_over_two_busy_hours() -> None:
    """Bursty updates of 40 threads and statuses; every key ends on its latest write."""
    rig = Rig()
    latest: dict[str, str] = {}
    start = rig.clock.now
    for second in range(0, 7200, 10):
        rig.clock.now = start + second
        burst = 15 if (second // 300) % 2 == 0 else 1  # busy and quiet five-minute spells
        for n in range(burst):
            thread = f"dir{(second + n) % 40}"
            body = f"{thread} at {second}.{n}"
            latest[thread] = body
            rig.host.post_comment(REPO, 7, body, thread=thread)
        rig.host.set_status(REPO, "abc", status("maestrops/plan", description=str(second)), pr=7)
        if second % 60 == 0:
            rig.host.flush()  # the schedule runs every minute
    for _ in range(120):  # the schedule keeps running after the burst
        rig.clock.now += 60
        rig.host.flush()

    seen: dict[str, str] = {}
    for write in rig.github.writes:
        if write[0] == "comment":
            seen[write[3]] = write[4]
    assert seen == latest
    assert rig.github.writes[-1][5] == "7190"  # the last status description got out
    assert rig.state(7).pending == {}
    times = rig.github.sent_at
    assert max(_window(times, 60)) <= 80
    assert max(_window(times, 3600)) <= 500


def _window(times: list[float], width: float) -> list[int]:
    counts, left = [], 0
    for right, t in enumerate(times):
        while times[left] <= t - width:
            left += 1
        counts.append(right - left + 1)
    return counts


@pytest.mark.parametrize(
    ("env", "repos_dir", "expected"),
    [
        ({}, None, True),
        ({}, "/repos", False),
        ({"MAESTRO_WRITE_BUDGET": "on"}, "/repos", True),
        ({"MAESTRO_WRITE_BUDGET": "off"}, None, False),
    ],
)
def test_the_switch(env: dict[str, str], repos_dir: str | None, expected: bool) -> None:
    settings = Settings.from_env({**env, **({"MAESTRO_REPOS_DIR": repos_dir} if repos_dir else {})})
    assert budget_enabled(settings) is expected


class LosingTable(MemoryBudgetTable):
    """Every conditional write loses, as if another writer always got there first."""

    def put(self, scope, state, version, expected, due):  # type: ignore[no-untyped-def]
        return False


def test_a_budget_that_stays_contended_lets_the_write_through() -> None:
    rig = Rig()
    sleeps: list[float] = []
    ledger = BudgetLedger(LosingTable(), rig.bodies, clock=rig.clock, sleep=sleeps.append)
    host = BudgetedGitHost(rig.github, ledger)
    assert host.post_comment(REPO, 7, "still sent", thread="plan") == "id-1"
    assert len(sleeps) == MAX_ATTEMPTS - 1  # jittered backoff between the attempts
    assert all(0 <= pause <= 0.5 for pause in sleeps)


def test_a_budget_item_that_would_outgrow_dynamodb_lets_the_write_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = Rig()
    for n in range(80):
        rig.host.post_comment(REPO, 7, "x", thread=f"t{n}")
    monkeypatch.setattr("chalicelib.budget.ledger.MAX_ITEM_BYTES", 2_000)
    assert rig.host.post_comment(REPO, 7, "y" * 1_000, thread="plan").startswith("id-")
    assert rig.state(7).pending == {}


def test_a_failed_send_never_undoes_a_newer_write_of_its_key() -> None:
    rig = Rig()
    for n in range(80):
        rig.host.post_comment(REPO, 7, "x", thread=f"t{n}")
    rig.host.post_comment(REPO, 7, "v1", thread="plan")
    rig.clock.now += 60

    def newer_write_while_v1_fails() -> None:
        rig.host.post_comment(REPO, 7, "v2", thread="plan")  # there is room: goes at once

    rig.github.fail = 1
    rig.github.on_fail = newer_write_while_v1_fails
    report = rig.host.flush()
    assert report.superseded == [f"{REPO}#7 comment:plan"]
    rig.clock.now += 60
    assert rig.host.flush().sent == []
    assert rig.github.comments("plan") == ["v2"]


def test_writes_of_a_flush_that_died_go_with_a_later_flush() -> None:
    rig = Rig()
    for n in range(80):
        rig.host.post_comment(REPO, 7, "x", thread=f"t{n}")
    rig.host.post_comment(REPO, 7, "survives", thread="plan")
    rig.clock.now += 60
    ledger = BudgetLedger(rig.table, rig.bodies, clock=rig.clock)
    (taken,) = ledger.take_due(BudgetScope(REPO, 7))  # a flush took it, then its Lambda died
    assert taken.payload["bodies"] == ["survives"]
    assert rig.host.flush().sent == []  # claimed: no second sender meanwhile
    rig.clock.now += CLAIM_SECONDS
    assert rig.host.flush().sent == [f"{REPO}#7 comment:plan"]
    assert rig.github.comments("plan") == ["survives"]
    assert rig.state(7).pending == {}


def test_a_newer_write_offered_while_the_older_is_sent_stays_pending() -> None:
    rig = Rig()
    for n in range(80):
        rig.host.post_comment(REPO, 7, "x", thread=f"t{n}")
    rig.host.post_comment(REPO, 7, "v1", thread="plan")
    rig.clock.now += 60
    for n in range(79):  # the flush will take one slot: leave none for v2
        rig.host.post_comment(REPO, 7, "y", thread=f"u{n}")

    sent_during: list[str] = []
    inner_post = rig.github.post_comment

    def post_and_meanwhile_v2(*args, **kwargs):  # type: ignore[no-untyped-def]
        if not sent_during:
            sent_during.append(rig.host.post_comment(REPO, 7, "v2", thread="plan"))
        return inner_post(*args, **kwargs)

    rig.github.post_comment = post_and_meanwhile_v2  # type: ignore[method-assign]
    assert rig.host.flush().sent == [f"{REPO}#7 comment:plan"]
    assert sent_during == ["pending:plan"]
    assert [w.payload["bodies"] for w in rig.state(7).pending.values()] == [["v2"]]
    rig.clock.now += 60
    rig.host.flush()
    assert rig.github.comments("plan") == ["v1", "v2"]
