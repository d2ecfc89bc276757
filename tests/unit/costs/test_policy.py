from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from chalicelib.costs.model import CostReport, Estimator, totals_of
from chalicelib.costs.policy import (
    APPROVE_COMMAND,
    CostConfig,
    CostPolicy,
    Threshold,
    Verdict,
    evaluate_policy,
    is_approval_comment,
    role_allows,
)


def report(total: str, past: str | None) -> CostReport:
    return CostReport(
        estimator=Estimator.BUILTIN,
        total_monthly_cost=Decimal(total),
        past_total_monthly_cost=None if past is None else Decimal(past),
    )


def test_no_thresholds_pass() -> None:
    result = evaluate_policy(report("100000", "0"), CostPolicy())
    assert result.verdict is Verdict.PASS and result.reasons == ()
    assert not result.needs_approval and result.render() == ""
    assert result.status_description() == "Cost within policy"


@pytest.mark.parametrize(
    ("policy", "total", "past", "verdict", "rule"),
    [
        (
            CostPolicy(monthly_total=Threshold(limit=Decimal(1000))),
            "1000.01",
            "900",
            Verdict.WARN,
            "monthly_total",
        ),
        (
            CostPolicy(monthly_total=Threshold(limit=Decimal(1000))),
            "1000",
            "900",
            Verdict.PASS,
            None,
        ),
        (
            CostPolicy(monthly_increase=Threshold(limit=Decimal(50), action="block")),
            "151",
            "100",
            Verdict.BLOCK,
            "monthly_increase",
        ),
        (
            CostPolicy(monthly_increase=Threshold(limit=Decimal(50), action="block")),
            "50",
            "100",
            Verdict.PASS,
            None,
        ),
        (
            CostPolicy(monthly_increase_percent=Threshold(limit=Decimal(20))),
            "121",
            "100",
            Verdict.WARN,
            "monthly_increase_percent",
        ),
        (
            CostPolicy(monthly_increase_percent=Threshold(limit=Decimal(20))),
            "120",
            "100",
            Verdict.PASS,
            None,
        ),
    ],
)
def test_thresholds(policy, total, past, verdict, rule) -> None:
    result = evaluate_policy(report(total, past), policy)
    assert result.verdict is verdict
    assert [r.rule for r in result.reasons] == ([rule] if rule else [])


def test_block_wins_over_warn_and_every_reason_is_kept() -> None:
    policy = CostPolicy(
        monthly_total=Threshold(limit=Decimal(100), action="warn"),
        monthly_increase=Threshold(limit=Decimal(10), action="block"),
        monthly_increase_percent=Threshold(limit=Decimal(5), action="warn"),
        approver_role="admin",
    )
    result = evaluate_policy(report("200", "150"), policy)
    assert result.verdict is Verdict.BLOCK and result.needs_approval
    assert [r.message for r in result.reasons] == [
        "monthly total $200.00 is above $100.00",
        "monthly increase $50.00 is above $10.00",
        "monthly increase of 33.3% is above 5%",
    ]
    text = result.render()
    assert text.startswith("⛔ **Cost policy: block**")
    assert f"`admin` role comments `{APPROVE_COMMAND}`" in text
    assert len(result.status_description()) <= 140
    assert result.status_description().startswith("Cost blocked: monthly total")


def test_increase_rules_need_a_baseline() -> None:
    policy = CostPolicy(
        monthly_increase=Threshold(limit=Decimal(1), action="block"),
        monthly_increase_percent=Threshold(limit=Decimal(1), action="block"),
    )
    assert evaluate_policy(report("500", None), policy).verdict is Verdict.PASS
    # From nothing, a percent means nothing; the money threshold still applies.
    result = evaluate_policy(report("500", "0"), policy)
    assert [r.rule for r in result.reasons] == ["monthly_increase"]


def test_a_decrease_never_trips_an_increase_rule() -> None:
    policy = CostPolicy(monthly_increase=Threshold(limit=Decimal(0), action="block"))
    assert evaluate_policy(report("50", "100"), policy).verdict is Verdict.PASS


def test_the_gitops_yml_cost_key() -> None:
    config = CostConfig.model_validate(
        {
            "policy": {
                "monthly_total": {"limit": "5000", "action": "warn"},
                "monthly_increase": {"limit": 500, "action": "block"},
                "approver_role": "write",
            },
            "insights": {"gp2_to_gp3": False},
        }
    )
    assert config.policy.monthly_increase == Threshold(limit=Decimal(500), action="block")
    assert config.insights.gp2_to_gp3 is False and config.insights.unattached_eip is True
    assert CostConfig() == CostConfig.model_validate({})


@pytest.mark.parametrize(
    "raw",
    [
        {"policy": {"monthly_total": {"limit": 10, "action": "fail"}}},
        {"policy": {"monthly_total": {"limit": -1}}},
        {"policy": {"monthly_totl": {"limit": 1}}},
        {"insights": {"gp2_to_gp4": True}},
        {"policy": {"approver_role": "owner"}},
    ],
)
def test_mistakes_in_the_config_are_refused(raw) -> None:
    with pytest.raises(ValidationError):
        CostConfig.model_validate(raw)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("maestro approve-cost", True),
        ("  Maestro   Approve-Cost \nbudget agreed with finance", True),
        ("maestro approve-cost please", False),
        ("please maestro approve-cost", False),
        ("", False),
    ],
)
def test_the_approval_comment(body: str, expected: bool) -> None:
    assert is_approval_comment(body) is expected


@pytest.mark.parametrize(
    ("role", "required", "expected"),
    [
        ("admin", "maintain", True),
        ("maintain", "maintain", True),
        ("write", "maintain", False),
        ("read", "write", False),
        ("owner", "write", False),
    ],
)
def test_roles(role: str, required: str, expected: bool) -> None:
    assert role_allows(role, required) is expected


def test_totals_for_the_run_record() -> None:
    totals = totals_of(report("150", "100"))
    assert totals.diff_total_monthly_cost == Decimal(50)
    assert totals.model_dump(mode="json")["total_monthly_cost"] == "150"
    assert totals_of(report("150", None)).diff_total_monthly_cost is None
