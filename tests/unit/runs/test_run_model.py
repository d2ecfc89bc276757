from __future__ import annotations

import pytest

from chalicelib.runs.exceptions import InvalidCursorError
from chalicelib.runs.model import TERMINAL, RunStatus, can_transition, run_id_for, truncate_error
from chalicelib.runs.query import RunQuery, decode_cursor, encode_cursor


def test_terminal_states_never_move() -> None:
    for terminal in TERMINAL:
        for target in RunStatus:
            assert not can_transition(terminal, target), (terminal, target)


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (RunStatus.QUEUED, RunStatus.DISPATCHED, True),
        (RunStatus.DISPATCHED, RunStatus.RUNNING, True),
        (RunStatus.RUNNING, RunStatus.SUCCEEDED, True),
        (RunStatus.RUNNING, RunStatus.DISPATCHED, False),  # a late "dispatched" never wins
        (RunStatus.SUCCEEDED, RunStatus.RUNNING, False),  # a late "started" never wins
        (RunStatus.DISPATCHED, RunStatus.SUCCEEDED, True),  # "finished" overtook "started"
        (RunStatus.RUNNING, RunStatus.UNKNOWN, True),
        (RunStatus.UNKNOWN, RunStatus.SUCCEEDED, True),  # resolved by a person
        (RunStatus.QUEUED, RunStatus.SUPERSEDED, True),
    ],
)
def test_transitions(current: RunStatus, target: RunStatus, allowed: bool) -> None:
    assert can_transition(current, target) is allowed


def test_run_ids_are_stable_per_delivery_and_pipeline() -> None:
    assert run_id_for("d1", "terraform-plan") == run_id_for("d1", "terraform-plan")
    assert run_id_for("d1", "terraform-plan") != run_id_for("d2", "terraform-plan")
    assert run_id_for("d1", "terraform-plan") != run_id_for("d1", "terraform-apply")


def test_errors_are_bounded() -> None:
    assert len(truncate_error("x" * 10_000)) <= 2000
    assert truncate_error("short") == "short"


def test_cursor_round_trip_and_tampering() -> None:
    key = {"pk": "RUN#1", "sk": "RUN"}
    query = RunQuery(repo="acme/app")
    assert decode_cursor(encode_cursor(key, query), query) == key
    for bad in ("%%%", encode_cursor({"pk": 1}, query), "bm90IGpzb24"):  # type: ignore[dict-item]
        with pytest.raises(InvalidCursorError):
            decode_cursor(bad, query)
