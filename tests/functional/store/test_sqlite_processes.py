"""Local mode's SQLite stores shared by processes at once (``maestro serve`` and a CLI, or a
controller restarting while the old one still exits): the write transaction is the
conditional write, across processes as well as threads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from chalicelib.runs.model import Run
from chalicelib.store.sqlite_db import SqliteDatabase
from chalicelib.store.sqlite_runs import SqliteRunStore

PROCESSES = 4
NUMBERS_EACH = 40
ROOT = Path(__file__).resolve().parents[3]
PRELUDE = """
import json, sys
from chalicelib.runs.exceptions import TransitionConflictError
from chalicelib.runs.model import RunStatus
from chalicelib.store.sqlite_db import SqliteDatabase
from chalicelib.store.sqlite_runs import SqliteRunStore
store = SqliteRunStore(SqliteDatabase(sys.argv[1]))
"""
TAKE_NUMBERS = (
    PRELUDE
    + f"""
print(json.dumps([store.next_run_number("acme/infra", "ci") for _ in range({NUMBERS_EACH})]))
"""
)
DISPATCH = (
    PRELUDE
    + """
try:
    store.transition("run-1", RunStatus.DISPATCHED, runner_ref=sys.argv[2])
    print(json.dumps(sys.argv[2]))
except TransitionConflictError:
    print(json.dumps("refused"))
"""
)


def run_at_once(script: str, *argv_list: list[str]) -> list[object]:
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, *argv], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for argv in argv_list
    ]
    results = []
    for worker in workers:
        out, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0
        results.append(json.loads(out))
    return results


def test_run_numbers_from_several_processes_are_all_distinct(tmp_path: Path) -> None:
    path = str(tmp_path / "maestro.db")
    SqliteRunStore(SqliteDatabase(path))
    batches = run_at_once(TAKE_NUMBERS, *[[path]] * PROCESSES)
    taken = [n for batch in batches for n in batch]  # type: ignore[attr-defined]
    assert sorted(taken) == list(range(1, PROCESSES * NUMBERS_EACH + 1))


def test_one_process_of_several_wins_a_transition(tmp_path: Path) -> None:
    path = str(tmp_path / "maestro.db")
    store = SqliteRunStore(SqliteDatabase(path))
    store.create(Run(id="run-1", repo="acme/infra", pipeline="terraform-plan", sha="a" * 40))
    outcomes = run_at_once(DISPATCH, *[[path, f"p{n}"] for n in range(PROCESSES)])
    winners = [outcome for outcome in outcomes if outcome != "refused"]
    assert len(winners) == 1
    assert store.get("run-1").runner_ref == winners[0]
