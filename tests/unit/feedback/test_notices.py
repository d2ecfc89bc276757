from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.feedback.markers import RunMarker, parse_run_marker, parse_thread
from chalicelib.feedback.notices import lock_wait_comment, refusal_comment


def test_lock_wait_names_the_holder_and_the_ways_out() -> None:
    marker = RunMarker(run_id="r2", seq=2, commit_time=datetime(2026, 11, 26, tzinfo=UTC))
    text = lock_wait_comment(
        thread="terraform-plan",
        marker=marker,
        directory="infra",
        workspace="default",
        holder_pr=12,
        lock_id="acme/infra#infra#default",
        holder_run_url="https://maestrops.example.com/runs/r1",
        prefix="ops",
    )

    assert parse_thread(text) == "terraform-plan"
    assert parse_run_marker(text) == marker
    assert "locked by PR #12 ([its run](https://maestrops.example.com/runs/r1))" in text
    assert "comment `ops unlock` on #12" in text
    assert "`maestro locks release acme/infra#infra#default`" in text


def test_refusal_gives_the_reason() -> None:
    assert refusal_comment("apply", "the PR is not approved") == (
        "🚫 `maestro apply` was not run: the PR is not approved"
    )
