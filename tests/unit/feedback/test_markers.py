from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.feedback.markers import (
    RunMarker,
    may_overwrite,
    parse_run_marker,
    parse_thread,
    parse_url_marker,
    part_thread,
    thread_marker,
    with_url_marker,
)

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def marker(seq: int, minutes: int = 0) -> RunMarker:
    return RunMarker(run_id=f"run-{seq}", seq=seq, commit_time=T0 + timedelta(minutes=minutes))


def test_marker_round_trips() -> None:
    m = marker(7, 5)
    body = f"text\n{m.render()}\nmore"

    assert m.render() == "<!-- maestrops:run=run-7 seq=7 commit-time=2026-11-26T08:05:00Z -->"
    assert parse_run_marker(body) == m


def test_thread_marker_round_trips_and_refuses_spaces() -> None:
    assert parse_thread(thread_marker(part_thread("terraform-plan", 2))) == "terraform-plan/part-2"
    assert part_thread("terraform-plan", 1) == "terraform-plan"
    with pytest.raises(ValueError):
        thread_marker("two words")


@pytest.mark.parametrize(
    ("old", "new", "allowed"),
    [
        (marker(4, 0), marker(5, 0), True),  # a later run on the same commit
        (marker(5, 0), marker(4, 0), False),  # an older run finishing late
        (marker(5, 10), marker(6, 0), False),  # a re-plan of an older commit
        (marker(5, 0), marker(3, 10), True),  # a newer commit, whatever its seq
        (marker(5, 0), marker(5, 0), True),  # the same run: pending → final
    ],
)
def test_may_overwrite_orders_by_commit_time_then_seq(
    old: RunMarker, new: RunMarker, allowed: bool
) -> None:
    assert may_overwrite(f"body\n{old.render()}", new) is allowed


def test_unmarked_comments_and_results() -> None:
    assert may_overwrite("a comment someone edited", marker(1))
    assert not may_overwrite(marker(1).render(), None)
    assert may_overwrite("<!-- maestrops:run=x seq=1 commit-time=garbled -->", marker(1))


def test_results_in_any_order_leave_the_newest_comment() -> None:
    results = [marker(seq, minutes) for seq, minutes in [(1, 0), (2, 0), (3, 5), (4, 5), (5, 9)]]
    rng = random.Random(4)
    for _ in range(50):
        order = results[:]
        rng.shuffle(order)
        comment = ""
        for result in order:
            if may_overwrite(comment, result):
                comment = result.render()
        assert parse_run_marker(comment) == results[-1]


def test_url_marker_round_trips_and_replaces_an_old_fragment() -> None:
    m = marker(9, 3)
    url = with_url_marker("https://maestrops.example.com/runs/r9#old", m)

    assert (
        url
        == "https://maestrops.example.com/runs/r9#maestrops-seq=9&commit-time=2026-11-26T08:03:00Z"
    )
    parsed = parse_url_marker(url)
    assert parsed is not None and parsed.order_key() == m.order_key()
    assert parse_url_marker("https://example.com/runs/r9") is None
    assert parse_url_marker(None) is None
