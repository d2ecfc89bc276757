"""The write budget's table and body store contracts, DynamoDB/S3 and SQLite alike."""

from __future__ import annotations

import pytest

from chalicelib.budget.state import BudgetScope
from tests.functional.store.conftest import Backend

PR_7 = BudgetScope(repo="acme/infra", pr=7)
PR_8 = BudgetScope(repo="acme/infra", pr=8)
SHA = BudgetScope(repo="acme/app", sha="a" * 40)


def test_a_put_holds_only_over_the_version_read(budgets: Backend) -> None:
    table, _ = budgets.open()
    assert table.get(PR_7) is None
    assert table.put(PR_7, '{"n": 1}', 1, expected=None, due=None)
    assert not table.put(PR_7, '{"n": "rival"}', 1, expected=None, due=None)  # exists now
    assert table.put(PR_7, '{"n": 2}', 2, expected=1, due=None)
    assert not table.put(PR_7, '{"n": "stale"}', 2, expected=1, due=None)  # read v1, now v2
    assert budgets.open()[0].get(PR_7) == ('{"n": 2}', 2)


def test_due_scopes_are_the_ones_waiting_soonest_first(budgets: Backend) -> None:
    table, _ = budgets.open()
    table.put(PR_7, "{}", 1, expected=None, due=200.0)
    table.put(PR_8, "{}", 1, expected=None, due=100.0)
    table.put(SHA, "{}", 1, expected=None, due=None)  # nothing waits
    assert table.due_scopes(50.0) == []
    assert table.due_scopes(150.0) == [PR_8]
    assert budgets.open()[0].due_scopes(300.0) == [PR_8, PR_7]
    table.put(PR_8, "{}", 2, expected=1, due=None)  # its writes went out
    assert table.due_scopes(300.0) == [PR_7]


def test_bodies_are_kept_replaced_and_deleted(budgets: Backend) -> None:
    _, bodies = budgets.open()
    bodies.put("feedback/acme/infra/7/comment/1", b"x" * 5000)
    bodies.put("feedback/acme/infra/7/comment/1", b"newer")
    assert budgets.open()[1].get("feedback/acme/infra/7/comment/1") == b"newer"
    bodies.delete("feedback/acme/infra/7/comment/1")
    bodies.delete("feedback/acme/infra/7/comment/1")  # twice is fine
    with pytest.raises(Exception):  # noqa: B017 - KeyError or S3's NoSuchKey
        bodies.get("feedback/acme/infra/7/comment/1")
