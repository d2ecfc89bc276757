"""Every plan of the corpus renders into comments GitHub accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.feedback.render import (
    render_plan_comments,
    render_plan_comments_from_json,
    summary_line,
)
from chalicelib.feedback.split import GITHUB_COMMENT_LIMIT, gh_len
from chalicelib.plans import PlanParseError, parse_plan, summarize_plan

from .conftest import CORPUS, assert_well_formed, make_context, valid_corpus_files

IDS = {"ids": lambda p: p.relative_to(CORPUS).as_posix()}


@pytest.mark.parametrize("path", valid_corpus_files(), **IDS)
def test_every_plan_renders_within_the_limit(path: Path) -> None:
    summary, comments = render_plan_comments_from_json(path.read_bytes(), make_context())

    assert comments
    assert all(gh_len(c) <= GITHUB_COMMENT_LIMIT for c in comments)
    first = comments[0]
    c = summary.counts
    infrastructure = any(
        c[a] for a in ("create", "update", "delete", "replace", "import", "move", "forget")
    )
    if summary.refresh_only:
        assert "**Refresh-only plan" in first
    elif infrastructure:
        imported = f"{summary.imports} to import, " if summary.imports else ""
        expected = (
            f"**Plan:** {imported}{c['create']} to add, {c['update']} to change, "
            f"{c['delete']} to destroy, {c['replace']} to replace"
        )
        assert expected in first
    elif summary.outputs_changed:
        assert f"**Outputs only:** {summary.outputs_changed} output(s) change" in first
    else:
        assert "**No changes.**" in first
    assert "cost: not estimated" in first
    for comment in comments:
        assert_well_formed(comment)
    listed = "\n".join(comments)
    for action in ("create", "update", "replace", "delete", "read"):
        for entry in summary.resources[action]:
            assert f"`{entry.address.replace('`', chr(39))}`" in listed


@pytest.mark.parametrize("path", valid_corpus_files(), **IDS)
def test_small_limit_splits_every_plan_without_cutting_lines(path: Path) -> None:
    plan = parse_plan(path.read_bytes())
    summary = summarize_plan(plan)
    whole = render_plan_comments(summary, make_context(), plan=plan, limit=10**9)[0]

    parts = render_plan_comments(summary, make_context(), plan=plan, limit=3_000, max_parts=None)

    assert all(gh_len(p) <= 3_000 for p in parts)
    for part in parts:
        assert_well_formed(part)
    # Every line of the unsplit comment survives whole, in the same order.
    body_lines = [ln for ln in whole.split("\n")[3:] if ln]
    split_lines = [ln for p in parts for ln in p.split("\n")[3:] if ln]
    position = 0
    for line in body_lines:
        position = split_lines.index(line, position) + 1
    assert summary_line(summary) in parts[0]


def test_malformed_plan_is_refused_before_rendering() -> None:
    with pytest.raises(PlanParseError):
        render_plan_comments_from_json(
            (CORPUS / "terraform-json/invalid.plan.json").read_bytes(), make_context()
        )


def test_utf16_plan_renders() -> None:
    raw = (CORPUS / "checkov/plan_with_utf_16_encoding.tfplan.json").read_bytes()
    summary, comments = render_plan_comments_from_json(raw, make_context())

    assert summary.counts["create"] == 3
    assert "**Plan:** 3 to add" in comments[0]


def test_an_empty_cost_block_means_no_cost_change_and_shows_nothing() -> None:
    raw = (CORPUS / "terraform-json/deep_module.plan.json").read_bytes()
    _, with_empty = render_plan_comments_from_json(raw, make_context(), cost_block="")
    _, without = render_plan_comments_from_json(raw, make_context(), cost_reason="no API key")

    assert "cost" not in with_empty[0].split("<details>")[0].lower()
    assert "💰 cost: not estimated (no API key)" in without[0]
