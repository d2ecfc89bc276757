from __future__ import annotations

import re

import pytest

from chalicelib.feedback.exceptions import CommentTooLongError
from chalicelib.feedback.render import render_plan_comments_from_json
from chalicelib.feedback.split import GITHUB_COMMENT_LIMIT, Section, gh_len, split_comment

from .conftest import assert_well_formed, make_context
from .plan_generator import action_of, generate_plan_bytes

ROW_RE = re.compile(r"^\| `(module\.cell_\d+\.aws_instance\.node\[(\d+)\])` \|", re.M)
DIFF_RE = re.compile(r"^(?:\+|!|-|-/\+) (module\.cell_\d+\.aws_instance\.node\[(\d+)\]) ", re.M)
PART_RE = re.compile(r"^### MaestrOps · .* \(part (\d+) of (\d+)\)$", re.M)


@pytest.fixture(scope="module")
def big_plan() -> bytes:
    return generate_plan_bytes(10_000)


@pytest.fixture(scope="module")
def big_comments(big_plan: bytes) -> list[str]:
    _, comments = render_plan_comments_from_json(big_plan, make_context(), max_parts=None)
    return comments


def test_ten_thousand_resources_split_under_the_limit(big_comments: list[str]) -> None:
    assert len(big_comments) > 5
    assert all(gh_len(c) <= GITHUB_COMMENT_LIMIT for c in big_comments)
    for comment in big_comments:
        assert_well_formed(comment)


def test_parts_are_numbered_in_order_and_the_summary_comes_first(big_comments: list[str]) -> None:
    numbers = [PART_RE.search(c).groups() for c in big_comments]  # type: ignore[union-attr]
    total = len(big_comments)
    assert numbers == [(str(i), str(total)) for i in range(1, total + 1)]
    assert (
        "**Plan:** 6000 to add, 2000 to change, 1000 to destroy, 500 to replace." in big_comments[0]
    )
    assert big_comments[0].index("**Plan:**") < big_comments[0].index("| resource |")
    threads = [c.split("\n")[0] for c in big_comments]
    assert threads[0] == "<!-- maestrops:thread=terraform-plan -->"
    assert threads[1] == "<!-- maestrops:thread=terraform-plan/part-2 -->"


def test_every_resource_appears_once_in_order(big_comments: list[str]) -> None:
    text = "\n".join(big_comments)
    rows = [int(m[2]) for m in ROW_RE.finditer(text)]
    diff = [int(m[2]) for m in DIFF_RE.finditer(text)]

    changed = [i for i in range(10_000) if action_of(i) != "no-op"]
    by_group = [
        i for a in ("create", "update", "replace", "delete") for i in changed if action_of(i) == a
    ]
    assert rows == by_group  # the table: grouped by action, Terraform's order inside a group
    assert diff == changed  # the full plan: Terraform's order


def test_sensitive_values_of_a_big_plan_never_appear(big_comments: list[str]) -> None:
    assert "-secret" not in "\n".join(big_comments)


def test_part_cap_ends_with_a_pointer_to_the_full_plan(big_plan: bytes) -> None:
    _, comments = render_plan_comments_from_json(big_plan, make_context(), max_parts=3)

    assert len(comments) == 3
    assert "(part 3 of 3)" in comments[2]
    assert comments[2].rstrip().endswith("_… the rest is in the full plan linked above._")
    for comment in comments:
        assert_well_formed(comment)


def _header(part: int, total: int) -> str:
    return f"# part {part} of {total}"


def test_block_cut_is_closed_and_reopened() -> None:
    lines = [f"line {i:04d}" for i in range(100)]
    section = Section(lines=lines, opener="```text", closer="```", reopener="```text")

    parts = split_comment(
        [Section(lines=["summary"], keep_together=True), section], _header, limit=400
    )

    assert len(parts) > 2
    for part in parts:
        assert gh_len(part) <= 400
        assert_well_formed(part)
    assert parts[0].split("\n")[1] == "summary"
    seen = [ln for p in parts for ln in p.split("\n") if ln.startswith("line ")]
    assert seen == lines


def test_line_longer_than_a_comment_is_shortened_not_split() -> None:
    long_line = "x" * 1_000
    parts = split_comment([Section(lines=["a", long_line, "b"])], _header, limit=400)

    assert all(gh_len(p) <= 400 for p in parts)
    shortened = [ln for p in parts for ln in p.split("\n") if ln.startswith("xxx")]
    assert len(shortened) == 1
    assert shortened[0].endswith("(line shortened: 1000 characters)")


def test_summary_too_large_for_one_comment_is_an_error() -> None:
    with pytest.raises(CommentTooLongError):
        split_comment([Section(lines=["y" * 1_000], keep_together=True)], _header, limit=400)


def test_length_counts_utf16_code_units_like_github() -> None:
    assert gh_len("abc") == 3
    assert gh_len("é") == 1
    assert gh_len("💰") == 2  # outside the BMP: a surrogate pair


def test_emoji_heavy_lines_stay_under_the_limit() -> None:
    lines = ["💰" * 30 for _ in range(200)]
    parts = split_comment([Section(lines=lines, opener="```", closer="```")], _header, limit=500)

    assert all(gh_len(p) <= 500 for p in parts)
    assert sum(p.count("💰" * 30) for p in parts) == 200


def test_a_block_that_fits_a_comment_of_its_own_is_moved_not_cut() -> None:
    first = Section(lines=[f"a{i:05d}" for i in range(40)], opener="```", closer="```")
    second = Section(lines=[f"b{i:05d}" for i in range(40)], opener="```", closer="```")

    parts = split_comment([first, second], _header, limit=600)

    assert len(parts) == 2
    assert all(p.count("```") == 2 for p in parts)
    assert "b00000" in parts[1] and "b00000" not in parts[0]


def _body(units: int) -> Section:
    """A block of ``units`` characters as GitHub counts them, newlines included."""
    full, rest = divmod(units, 100)
    return Section(lines=["x" * 99] * full + (["x" * (rest - 1)] if rest else []))


def test_the_default_limit_is_github_65536_to_the_character() -> None:
    # The largest block that stays in one comment under the default limit, found by bisection.
    low, high = 1, 200_000
    while low < high:
        middle = (low + high + 1) // 2
        if len(split_comment([_body(middle)], _header)) == 1:
            low = middle
        else:
            high = middle - 1
    (largest,) = split_comment([_body(low)], _header)

    assert GITHUB_COMMENT_LIMIT == 65_536
    # It fits, and only the header's and the overflow note's reserve plus a small margin is
    # left unused: a limit of 131,072 (or 60,000) would move this boundary.
    assert 65_536 - 200 < gh_len(largest) <= 65_536
    assert len(split_comment([_body(low + 1)], _header)) == 2
