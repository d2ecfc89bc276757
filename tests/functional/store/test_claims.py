"""Claims: what an event means starts one run (``RunStore.claim``), DynamoDB and SQLite alike."""

from __future__ import annotations

from pathlib import Path

from chalicelib.store.sqlite_db import SqliteDatabase
from chalicelib.store.sqlite_runs import SqliteRunStore
from tests.functional.store.conftest import Backend
from tests.functional.store.test_sqlite_processes import PRELUDE, run_at_once

KEY = "acme/infra#terraform-apply#" + "a" * 40


def test_the_first_claim_wins_and_later_ones_learn_its_owner(runs: Backend) -> None:
    first, second = runs.open(), runs.open()  # two containers, or before and after a restart
    assert first.claim(KEY, "run-a") == "run-a"
    assert second.claim(KEY, "run-b") == "run-a"
    assert runs.open().claim(KEY, "run-c") == "run-a"


def test_the_owner_claims_again_as_often_as_it_is_redelivered(runs: Backend) -> None:
    store = runs.open()
    for _ in range(3):
        assert store.claim(KEY, "run-a") == "run-a"
    assert runs.open().claim(KEY, "run-b") == "run-a"


def test_a_claim_passes_on_only_from_the_holder_named(runs: Backend) -> None:
    store = runs.open()
    store.claim(KEY, "run-a")
    assert store.claim(KEY, "run-b", replace="run-x") == "run-a"  # not the holder: refused
    assert store.claim(KEY, "run-b", replace="run-a") == "run-b"
    assert store.claim(KEY, "run-c", replace="run-a") == "run-b"  # stale: already passed on
    assert runs.open().claim(KEY, "run-d") == "run-b"


def test_keys_are_independent(runs: Backend) -> None:
    store = runs.open()
    assert store.claim(KEY, "run-a") == "run-a"
    assert store.claim(KEY + "x", "run-b") == "run-b"
    assert store.claim("acme/other#terraform-apply#" + "a" * 40, "run-c") == "run-c"


CLAIM = (
    PRELUDE
    + """
print(json.dumps(store.claim("k", sys.argv[2])))
"""
)


def test_one_process_of_several_wins_a_claim(tmp_path: Path) -> None:
    path = str(tmp_path / "maestro.db")
    SqliteRunStore(SqliteDatabase(path))
    owners = run_at_once(CLAIM, *[[path, f"run-{n}"] for n in range(4)])
    assert len(set(owners)) == 1  # type: ignore[arg-type]
