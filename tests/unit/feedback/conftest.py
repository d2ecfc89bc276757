from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from chalicelib.feedback.markers import RunMarker
from chalicelib.feedback.render import CommentContext

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CORPUS = FIXTURES / "terraform-plans"
GOLDEN = FIXTURES / "github" / "golden"
MALFORMED = {"terraform-json/invalid.plan.json"}


def valid_corpus_files() -> list[Path]:
    files = sorted(CORPUS.glob("*/*.json"))
    return [p for p in files if p.relative_to(CORPUS).as_posix() not in MALFORMED]


def make_context(
    thread: str = "terraform-plan",
    seq: int = 12,
    title: str = "Terraform plan · `infra` · workspace `default`",
    full_plan: bool = True,
) -> CommentContext:
    return CommentContext(
        thread=thread,
        title=title,
        marker=RunMarker(
            run_id="01JD7X0RUN", seq=seq, commit_time=datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
        ),
        sha="0a3087a6c1d2e3f405162738495a6b7c8d9e0f1a",
        run_url="https://maestrops.example.com/runs/01JD7X0RUN",
        run_label=f"{thread} #{seq}",
        full_plan_url=(
            "https://artifacts.example.com/runs/01JD7X0RUN/plan.txt?X-Amz-Expires=900"
            if full_plan
            else None
        ),
    )


FENCE_RE = re.compile(r"^(`{3,})")


def assert_well_formed(comment: str) -> None:
    """Every code fence opened in a comment is closed in it, and so is every <details>."""
    open_fence: str | None = None
    for line in comment.split("\n"):
        match = FENCE_RE.match(line)
        if match is None:
            continue
        if open_fence is None:
            open_fence = match[1]
        elif line == open_fence:
            open_fence = None
    assert open_fence is None, "a code block is left open"
    opened = comment.count("<details")
    assert opened == comment.count("</details>"), "a <details> block is left open"
