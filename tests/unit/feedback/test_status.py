from __future__ import annotations

from decimal import Decimal

from chalicelib.feedback.status import (
    STATUS_DESCRIPTION_LIMIT,
    failure_description,
    format_monthly_delta,
    plan_description,
    waiting_for_lock_description,
)
from chalicelib.plans.summary import ACTIONS, PlanSummary


def summary(**counts: int) -> PlanSummary:
    full = {a: 0 for a in ACTIONS} | {k.replace("_", "-"): v for k, v in counts.items()}
    return PlanSummary(format_version="1.2", counts=full, resources={a: [] for a in ACTIONS})


def test_plan_description_with_cost() -> None:
    text = plan_description(summary(create=3, update=1), Decimal("12.4"))
    assert text == "+3 ~1 -0, +$12.40/mo"


def test_replacements_and_savings() -> None:
    assert plan_description(summary(delete=2, replace=1), Decimal("-1234.567")) == (
        "+0 ~0 -2 ±1, -$1,234.57/mo"
    )


def test_no_changes() -> None:
    assert plan_description(summary(no_op=4)) == "no changes"


def test_money_rounds_half_up() -> None:
    assert format_monthly_delta(Decimal("0.005")) == "+$0.01/mo"
    assert format_monthly_delta(Decimal("0")) == "+$0.00/mo"


def test_descriptions_are_one_line_within_githubs_limit() -> None:
    text = failure_description("terraform_apply", "Error:\n" + "x" * 500)
    assert len(text) == STATUS_DESCRIPTION_LIMIT
    assert "\n" not in text
    assert text.endswith("…")


def test_waiting_for_lock() -> None:
    assert waiting_for_lock_description(12, "infra", "default") == (
        "waiting for PR #12 (lock on infra, workspace default)"
    )
