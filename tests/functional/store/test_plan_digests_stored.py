"""A plan's digests are written with its finish and read back by both run stores."""

from __future__ import annotations

import pytest

from chalicelib.runs.exceptions import TransitionConflictError
from chalicelib.runs.model import RunStatus
from tests.functional.store.conftest import Backend
from tests.functional.store.test_run_store import make_run

DIGESTS = {"plan": "a" * 64, "plan_json": "b" * 64}


def test_digests_recorded_with_the_finish_survive_a_new_handle_and_a_late_finish(
    runs: Backend,
) -> None:
    runs.open().create(make_run(1, status=RunStatus.RUNNING))
    runs.open().transition("run-001", RunStatus.SUCCEEDED, plan_digests=DIGESTS)
    assert runs.open().get("run-001").plan_digests == DIGESTS
    for _ in range(2):  # a repeated finish cannot record other digests
        with pytest.raises(TransitionConflictError):
            runs.open().transition("run-001", RunStatus.SUCCEEDED, plan_digests={"plan": "c"})
    assert runs.open().get("run-001").plan_digests == DIGESTS
    assert "plan_digests" not in runs.open().get("run-001").public()


def test_a_run_without_digests_reads_back_with_none(runs: Backend) -> None:
    runs.open().create(make_run(2))
    assert runs.open().get("run-002").plan_digests == {}
