"""The plan comment over real Terraform 1.11 plans, one kind of plan per test.

Fixtures: tests/fixtures/terraform-plans-1.11 (made by scripts/fixtures/make_terraform_plans.py).
"""

from __future__ import annotations

import json

import pytest

from chalicelib.feedback.render import render_plan_comments_from_json
from chalicelib.feedback.status import plan_description
from chalicelib.plans import parse_plan, summarize_plan

from .conftest import FIXTURES, assert_well_formed, make_context

TF111 = FIXTURES / "terraform-plans-1.11"
RUN_LINK = "[terraform-plan #12](https://maestrops.example.com/runs/01JD7X0RUN)"


def _comment(name: str, **options: object) -> str:
    raw = (TF111 / f"{name}.plan.json").read_bytes()
    _, comments = render_plan_comments_from_json(
        raw, make_context(), cost_reason="no estimate", **options
    )
    assert len(comments) == 1
    assert_well_formed(comments[0])
    return comments[0]


def _status(name: str) -> str:
    return plan_description(summarize_plan(parse_plan((TF111 / f"{name}.plan.json").read_bytes())))


def _block(comment: str, title: str) -> str:
    start = comment.index(f"<summary>{title}")
    return comment[start : comment.index("</details>", start)]


def test_moves_only_plan_lists_every_move() -> None:
    comment = _comment("moves_only")

    assert "No changes" not in comment
    assert "**Plan:** 0 to add, 0 to change, 0 to destroy, 0 to replace, 5 to move." in comment
    for n in "abcde":
        assert f"| `null_resource.{n}_renamed` | moved from `null_resource.{n}` |" in comment
        assert f"  null_resource.{n}_renamed has moved from null_resource.{n}" in comment
    assert _status("moves_only") == "+0 ~0 -0, 5 move"


def test_imports_are_in_the_summary_line_like_terraform_says_them() -> None:
    comment = _comment("imports")

    # Terraform: "Plan: 5 to import, 1 to add, 1 to change, 0 to destroy."
    assert "**Plan:** 5 to import, 1 to add, 1 to change, 0 to destroy, 0 to replace." in comment
    assert "| `aws_ssm_parameter.legacy[0]` | imported id `/legacy/p0` |" in comment
    assert "  aws_ssm_parameter.legacy[4] will be imported from id /legacy/p4" in comment
    assert _status("imports") == "+1 ~1 -0, 5 import"
    # Its one drift entry only reads back tags {} for null: Terraform does not show it either.
    assert len(json.loads((TF111 / "imports.plan.json").read_text())["resource_drift"]) == 1
    assert "Changed outside Terraform" not in comment


def test_drift_is_shown_collapsed_after_the_planned_changes() -> None:
    comment = _comment("drift")

    assert "6 object(s) changed outside Terraform" in comment
    drift = _block(comment, "Changed outside Terraform (6)")
    assert comment.index("<summary>Full plan") < comment.index("<summary>Changed outside")
    for i in range(6):
        assert f"! aws_ssm_parameter.setting_{i} has changed" in drift
    assert "!     value = (sensitive value)" in drift
    assert "changed-by-hand" not in comment  # the drifted values are sensitive
    assert _status("drift") == "+0 ~6 -0, 6 drifted"


def test_refresh_only_plan_has_its_own_headline() -> None:
    comment = _comment("refresh_only")

    assert "matches the configuration" not in comment
    assert "**Refresh-only plan:** 6 object(s) changed outside Terraform." in comment
    assert "it changes no infrastructure" in comment
    assert "Changed outside Terraform (6)" in comment
    assert _status("refresh_only") == "refresh-only, 6 changed outside Terraform"


def test_redaction_leaves_links_and_addresses_whole() -> None:
    # The old value of aws_ssm_parameter.db_url is "maestro", a substring of the run link.
    doc = json.loads((TF111 / "sensitive_change.plan.json").read_text())
    assert doc["resource_changes"][0]["change"]["before"]["value"] == "maestro"

    comment = _comment("sensitive_change")

    assert RUN_LINK in comment
    assert "(redacted)ps" not in comment
    assert "`aws_ssm_parameter.db_url`" in comment
    assert "postgres://app" not in comment and "s3cr3t-Pa55" not in comment
    assert "hunter2-canary" not in comment  # the sensitive variable


def test_a_secret_that_is_a_whole_for_each_key_is_masked_in_the_address() -> None:
    doc = json.loads((TF111 / "sensitive_change.plan.json").read_text())
    rc = doc["resource_changes"][0]
    rc["address"] = 'aws_ssm_parameter.db_url["maestro"]'
    rc["index"] = "maestro"

    _, (comment,) = render_plan_comments_from_json(json.dumps(doc).encode(), make_context())

    assert '`aws_ssm_parameter.db_url["(redacted)"]`' in comment
    assert '"maestro"' not in comment
    assert RUN_LINK in comment


def test_changes_to_sensitive_attributes_are_shown() -> None:
    comment = _comment("sensitive_change")

    # Terraform: "~ description = (sensitive value)" and "~ value = (sensitive value)".
    body = _block(comment, "Full plan")
    assert "! aws_ssm_parameter.db_url will be updated in-place" in body
    assert "!     description = (sensitive value)" in body
    assert "!     value = (sensitive value)" in body


def test_create_before_destroy_is_marked_plus_minus() -> None:
    comment = _comment("create_before_destroy")

    assert "+/- null_resource.cbd must be replaced" in comment
    assert "-/+ null_resource.plain must be replaced" in comment
    assert "| `null_resource.cbd` |" in comment and "create before destroy (+/-)" in comment


def test_terraform_text_keeps_its_replacement_symbols() -> None:
    text = (TF111 / "create_before_destroy.plan.txt").read_text()
    comment = _comment("create_before_destroy", plan_text=text)

    assert '\n+/- resource "null_resource" "cbd" {' in comment
    assert '\n-/+ resource "null_resource" "plain" {' in comment


def test_forget_rows_say_the_object_keeps_running() -> None:
    comment = _comment("forget")

    assert "delete because no resource config" not in comment
    assert "| `aws_ebs_volume.data` | removed block with destroy = false" in comment
    assert ". aws_ebs_volume.data will no longer be managed by Terraform" in comment
    assert "\n- aws_ebs_volume.data" not in comment  # no red line: nothing is destroyed
    assert "2 to forget" in comment
    assert _status("forget") == "+0 ~0 -0, 2 forget"


def test_failed_check_is_a_warning() -> None:
    comment = _comment("failed_check")

    assert "⚠️ check `check.health` failed: the health endpoint is not configured" in comment
    assert _status("failed_check") == "+1 ~0 -0, 1 check(s) failed"


def test_outputs_only_plan_says_so() -> None:
    comment = _comment("outputs_only")

    assert "**Outputs only:** 2 output(s) change; no infrastructure changes." in comment
    assert "tok-canary-4242" not in comment  # a sensitive output
    assert _status("outputs_only") == "outputs only (2)"


@pytest.mark.parametrize("values", [True, False], ids=["values", "overview"])
def test_a_plan_from_a_newer_terraform_renders_with_unrecognised_lines(values: bool) -> None:
    doc = json.loads((TF111 / "imports.plan.json").read_text())
    doc["format_version"] = "2.0"
    doc["action_invocations"] = [{"address": "action.notify.all"}]
    doc["resource_changes"][0]["change"]["actions"] = ["create", "frobnicate"]
    doc["resource_drift"][0]["change"]["actions"] = ["transmogrify"]
    doc["output_changes"] = {"x": {"actions": ["teleport"], "before": 1, "after": 2}}
    raw = json.dumps(doc).encode()

    _, (comment,) = render_plan_comments_from_json(
        raw, make_context(), detail_limit=len(raw) if values else 0
    )

    assert "1 unrecognised" in comment
    assert "❓ with actions this version does not recognise" in comment
    assert "| `aws_ssm_parameter.added` | actions create, frobnicate |" in comment
    assert "Plan format 2.0 is newer than this version of MaestrOps recognises" in comment
    if values:
        assert "? output.x has actions this version does not recognise" in comment
    assert_well_formed(comment)


@pytest.mark.parametrize(
    "name", sorted(p.name[: -len(".plan.json")] for p in TF111.glob("*.plan.json"))
)
def test_every_real_plan_renders_with_its_links_intact(name: str) -> None:
    comment = _comment(name)

    assert RUN_LINK in comment
    assert "(redacted)" not in comment.split("\n")[3]  # the headline carries no value


def test_deferred_changes_and_a_partial_plan_are_warned_about() -> None:
    doc = json.loads((TF111 / "failed_check.plan.json").read_text())
    doc["complete"] = False
    deferred = {k: v for k, v in doc["resource_changes"][1].items()}
    deferred["address"] = "null_resource.later"
    doc["deferred_changes"] = [{"reason": "provider_config_unknown", "resource_change": deferred}]

    _, (comment,) = render_plan_comments_from_json(json.dumps(doc).encode(), make_context())

    assert "⚠️ This plan is partial: apply it, then plan again for the rest." in comment
    assert "⏸️ `null_resource.later` deferred to a later plan (provider config unknown)." in comment


def test_rendering_again_with_other_secrets_gives_each_its_own_masking() -> None:
    raw = (TF111 / "sensitive_change.plan.json").read_bytes()
    first = render_plan_comments_from_json(raw, make_context())[1]
    other = render_plan_comments_from_json(raw, make_context(), sensitive=["in-place"])[1]
    again = render_plan_comments_from_json(raw, make_context())[1]

    assert first == again
    assert other != first and "updated (redacted)" in other[0]
