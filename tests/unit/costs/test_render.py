from __future__ import annotations

import json
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.costs.estimator import estimate_plan
from chalicelib.costs.infracost import parse_infracost
from chalicelib.costs.insights import find_insights
from chalicelib.costs.model import CostReport, Estimator, ProjectCost, ResourceCost
from chalicelib.costs.render import money, percent, render_cost_block

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
GOLDEN = FIXTURES / "cost_plans" / "golden"
INFRACOST = FIXTURES / "infracost"


def _infracost(name: str) -> CostReport:
    return parse_infracost((INFRACOST / "json" / name).read_bytes())


def _plan(name: str) -> dict:
    return json.loads((FIXTURES / "cost_plans" / name).read_bytes())


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def _many_changes() -> CostReport:
    resources = tuple(
        ResourceCost(
            address=f"aws_instance.fleet[{i}]",
            resource_type="aws_instance",
            monthly_cost=Decimal(i),
            past_monthly_cost=Decimal(0),
        )
        for i in range(1, 31)
    )
    total = sum(r.monthly_cost for r in resources)
    return CostReport(
        estimator=Estimator.BUILTIN,
        projects=(
            ProjectCost(
                name=".", monthly_cost=total, past_monthly_cost=Decimal(0), resources=resources
            ),
        ),
        total_monthly_cost=total,
        past_total_monthly_cost=Decimal(0),
        catalog_date="2026-11-26",
        catalog_version="2026-11-26.1",
        region="us-east-1",
    )


CASES = {
    "infracost_increase.md": lambda: render_cost_block(
        _infracost("terraform_v0.14_breakdown.json")
    ),
    "infracost_decrease_projects.md": lambda: render_cost_block(
        _infracost("multi_project_names.json")
    ),
    "infracost_no_baseline.md": lambda: render_cost_block(_infracost("output_format_json.json")),
    "infracost_usage_based.md": lambda: render_cost_block(_infracost("breakdown_format_json.json")),
    "builtin_nat_unpriced.md": lambda: render_cost_block(
        estimate_plan(_plan("test_issue-158.plan.json"))
    ),
    "builtin_with_insights.md": lambda: render_cost_block(
        estimate_plan(_plan("plan.tfplan.json")), find_insights(_plan("plan.tfplan.json"))
    ),
    "builtin_resize.md": lambda: render_cost_block(estimate_plan(_plan("plan_with_target.json"))),
    "builtin_many_rows.md": lambda: render_cost_block(_many_changes()),
    "infracost_project_error.md": lambda: render_cost_block(
        _infracost("out_with_project_error.json")
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_cost_blocks(name: str) -> None:
    _check_golden(name, CASES[name]())


NO_COST_CHANGE = [
    "terraform_v0.14_nochange_breakdown.json",
    "no_diff.json",
    "changes.json",
    "without_module_path.json",
    "diff_project_name_prior.json",
    "breakdown_format_json_with_tags_google.json",
    "no_project.json",
    "ToMarkdown_NoPreviousBreakdown.json",
]


@pytest.mark.parametrize("name", NO_COST_CHANGE)
def test_nothing_when_nothing_changed_in_cost(name: str) -> None:
    assert render_cost_block(_infracost(name)) == ""


def test_infracost_shows_no_changed_project_where_we_show_nothing() -> None:
    # Infracost's own comment for the no-change input has a heading and no table.
    golden = (
        INFRACOST / "github-comment" / "output_format_git_hub_comment_no_change.md"
    ).read_text()
    assert "<table>" not in golden and "Monthly estimate generated" in golden
    assert render_cost_block(_infracost("terraform_v0.14_nochange_breakdown.json")) == ""


def _dollars(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", "").replace("+", ""))


def test_same_total_and_resources_as_infracosts_pull_request_comment() -> None:
    golden = (INFRACOST / "github-comment" / "comment_git_hub_pull_request.md").read_text()
    report = _infracost("terraform_v0.14_breakdown.json")
    block = render_cost_block(report)

    theirs = _dollars(re.search(r"Monthly estimate increased by (\$[\d,.]+)", golden).group(1))
    assert abs(report.diff_total_monthly_cost - theirs) < Decimal("0.5")
    assert "increase by $40.56" in block
    assert "+100.0%" in block and "+100%" in golden
    their_resources = set(re.findall(r"^\+ (\S+)$", golden, flags=re.MULTILINE))
    our_resources = set(re.findall(r"^\| `([^`]+)`", block, flags=re.MULTILINE))
    assert our_resources == their_resources
    assert len(our_resources) == 7


def test_same_project_changes_as_infracosts_multi_project_comment() -> None:
    golden = INFRACOST / "github-comment" / "output_format_git_hub_comment_with_project_names.md"
    rows = re.findall(
        r"<td>([^<]+)</td>\s*<td[^>]*>[^<]*</td>\s*<td[^>]*>-</td>\s*<td[^>]*>([-+]\$[\d,.]+)",
        golden.read_text(),
    )
    report = _infracost("multi_project_names.json")
    ours = {p.name: p.diff for p in report.projects}
    assert len(rows) == 5
    for name, change in rows:
        assert abs(ours[name] - _dollars(change)) < Decimal("0.5"), name
    block = render_cost_block(report)
    assert "decrease by $2,241.68" in block and "decreased by $2,242" in golden.read_text()


def test_the_table_is_sorted_by_monthly_impact() -> None:
    block = render_cost_block(_infracost("diff_with_compare_to_format_json.json"))
    rows = [line for line in block.splitlines() if line.startswith("| `")]
    assert rows[0].startswith("| `aws_instance.web_app2` | -$1,303.28")
    assert rows[1].startswith("| `aws_instance.web_app` | +$560.64")


def test_the_block_names_the_estimator_catalog_and_unpriced() -> None:
    block = render_cost_block(estimate_plan(_plan("test_issue-158.plan.json")))
    assert "built-in estimator" in block and "catalog 2026-11-26.1 of 2026-11-26" in block
    assert "eu-west-1" in block
    assert "`module.vpc.aws_vpn_gateway.this[0]` (create): no built-in price" in block
    assert "Estimated by Infracost" in render_cost_block(
        _infracost("terraform_v0.14_breakdown.json")
    )


def test_usage_based_costs_are_marked() -> None:
    block = render_cost_block(estimate_plan(_plan("test_issue-158.plan.json")))
    assert "`module.vpc.aws_nat_gateway.this[0]` †" in block
    assert "`module.vpc.aws_eip.nat[0]` |" in block
    assert "† Usage-based" in block


def test_long_tables_are_cut_and_the_rest_counted() -> None:
    block = render_cost_block(_many_changes())
    assert block.count("| `aws_instance.fleet") == 25
    assert "…and 5 more (+$15.00 together)." in block


@pytest.mark.parametrize(
    ("amount", "signed", "text"),
    [
        (Decimal("1234.565"), False, "$1,234.57"),
        (Decimal("-742.64"), False, "-$742.64"),
        (Decimal("4.596"), True, "+$4.60"),
        (Decimal("0"), True, "$0.00"),
    ],
)
def test_money(amount: Decimal, signed: bool, text: str) -> None:
    assert money(amount, signed=signed) == text


def test_money_in_another_currency_and_percent() -> None:
    assert money(Decimal("12"), "EUR") == "EUR 12.00"
    assert percent(Decimal("40.561"), Decimal("40.561")) == "+100.0%"
    assert percent(Decimal("5"), Decimal("0")) == "new"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("errors.json", "No valid terraform files found given path, try a different directory"),
        ("quota_exceeded.json", "Infracost free monthly run limit exceeded."),
        ("breakdown_multi_project_with_error.json", "Error loading Terraform modules"),
    ],
)
def test_project_errors_are_shown_even_without_a_cost_change(name: str, message: str) -> None:
    block = render_cost_block(_infracost(name))
    assert "**Not estimated**" in block and message in block
    assert "Monthly cost unchanged" in block


def test_like_infracost_an_all_error_report_names_the_error() -> None:
    golden = INFRACOST / "github-comment" / "output_format_git_hub_comment_with_all_error.md"
    message = "No valid terraform files found given path, try a different directory"
    assert message in golden.read_text()
    assert message in render_cost_block(_infracost("errors.json"))
