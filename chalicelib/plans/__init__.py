"""Terraform plans: the models of ``terraform show -json`` and the plan summary."""

from chalicelib.plans.exceptions import PlanParseError
from chalicelib.plans.models import Plan, PlanOverview, ResourceChange, parse_plan
from chalicelib.plans.summary import (
    ACTIONS,
    PlanSummary,
    ResourceEntry,
    describe_changes,
    summarize_plan,
)

__all__ = [
    "ACTIONS",
    "Plan",
    "PlanOverview",
    "PlanParseError",
    "PlanSummary",
    "ResourceChange",
    "ResourceEntry",
    "describe_changes",
    "parse_plan",
    "summarize_plan",
]
