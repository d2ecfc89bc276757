"""Rendered comments compared with golden files (tests/fixtures/github/golden/).

After an intended change of the rendering, rewrite them with
``MAESTRO_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/feedback/test_golden.py`` and review the diff.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from chalicelib.events.comment_parser import help_text
from chalicelib.feedback.render import (
    StepRow,
    render_plan_comments_from_json,
    render_result_comments,
)

from .conftest import CORPUS, GOLDEN, make_context

COST_BLOCK = """💰 **Monthly cost:** $1,204.00 → $1,216.40 (**+$12.40**)

| project | before | after | diff |
| --- | ---: | ---: | ---: |
| infra | $1,204.00 | $1,216.40 | +$12.40 |"""

PLAN_TEXT = """Terraform will perform the following actions:

  # aws_db_instance.main will be updated in-place
  ~ resource "aws_db_instance" "main" {
      ~ instance_class = "db.t3.micro" -> "db.t3.small"
      ~ password       = "hunter22-old" -> "hunter22-new"
        id             = "db-1"
    }

Plan: 0 to add, 1 to change, 0 to destroy.
"""


def _check(name: str, comments: list[str]) -> None:
    text = "\n\n<!-- ===== next comment ===== -->\n\n".join(comments) + "\n"
    path = GOLDEN / name
    if os.environ.get("MAESTRO_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with MAESTRO_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("plan", "golden"),
    [
        ("terraform-compliance/test_issue_522.plan.json", "plan_mixed_actions.md"),
        ("terraform-json/action_reason.plan.json", "plan_replace_with_reason.md"),
        ("terraform-json/no_changes.plan.json", "plan_no_changes.md"),
        ("terraform-json/moved_block.plan.json", "plan_moved_block.md"),
    ],
)
def test_plan_comment_without_cost(plan: str, golden: str) -> None:
    raw = (CORPUS / plan).read_bytes()
    _, comments = render_plan_comments_from_json(
        raw, make_context(), cost_reason="Infracost has no API key configured"
    )
    _check(golden, comments)


def test_plan_comment_with_cost_block_and_terraform_text() -> None:
    raw = (CORPUS / "infracost/plan_with_target.json").read_bytes()
    _, comments = render_plan_comments_from_json(
        raw, make_context(), cost_block=COST_BLOCK, plan_text=PLAN_TEXT
    )
    _check("plan_with_cost_and_text.md", comments)


def test_plan_comment_split_in_four() -> None:
    raw = (CORPUS / "checkov/plan.tfplan.json").read_bytes()
    _, comments = render_plan_comments_from_json(raw, make_context(), limit=12_000)
    assert len(comments) == 4
    _check("plan_split.md", comments)


def test_apply_success_comment() -> None:
    comments = render_result_comments(
        make_context("terraform-apply", seq=13, title="Terraform apply · `infra`", full_plan=False),
        succeeded=True,
        headline="Applied: 5 added, 1 changed, 2 destroyed.",
        steps=[
            StepRow(name="terraform_init", state="succeeded", seconds=8.2),
            StepRow(name="terraform_apply", state="succeeded", seconds=74.9),
        ],
        finished_at=datetime(2026, 11, 26, 8, 14, tzinfo=UTC),
    )
    _check("apply_succeeded.md", comments)


def test_deploy_failure_comment() -> None:
    log = "\n".join(f"step output line {i}" for i in range(100))
    log += "\nError: health check http://app/health returned 502\nDB_PASSWORD=Sup3rS3cret!"
    comments = render_result_comments(
        make_context("cd-application", seq=4, title="Deploy · `deployment`", full_plan=False),
        succeeded=False,
        headline="Deploy failed.",
        steps=[
            StepRow(name="compose_pull", state="succeeded", seconds=21),
            StepRow(name="compose_deploy", state="failed", seconds=40),
            StepRow(name="env_cleanup", state="succeeded", seconds=1),
        ],
        failed_step="compose_deploy",
        log_tail=log,
    )
    assert "Sup3rS3cret" not in comments[0]
    _check("deploy_failed.md", comments)


def test_help_comment() -> None:
    _check("help.md", [help_text(error="unknown command 'destroy'")])
