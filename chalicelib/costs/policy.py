"""Cost policy: thresholds from ``.gitops.yml`` (key ``cost:``) judged against a CostReport.

Pure: the controller turns a ``block`` verdict into a failing commit status and refuses the
apply until a user with ``approver_role`` comments ``maestro approve-cost`` (recorded on the
run); this module only says what the verdict is and why.

Example ``.gitops.yml``::

    cost:
      policy:
        monthly_total: {limit: 5000, action: warn}
        monthly_increase: {limit: 500, action: block}
        monthly_increase_percent: {limit: 25, action: warn}
        approver_role: maintain
      insights:
        oversized_non_production: false
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.costs.insights import InsightsConfig
from chalicelib.costs.model import CostReport
from chalicelib.costs.render import money

APPROVE_COMMAND = "maestro approve-cost"
# GitHub repository roles, weakest first: a role approves when it ranks at least as high.
ROLE_ORDER = ("read", "triage", "write", "maintain", "admin")


class Verdict(StrEnum):
    PASS = "pass"
    WARN = "warn"
    BLOCK = "block"


class Threshold(BaseModel):
    """Exceeded when the measured value is strictly above ``limit``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: Decimal = Field(ge=0)
    action: Literal["warn", "block"] = "warn"


class CostPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    monthly_total: Threshold | None = None  # money, the monthly total after the change
    monthly_increase: Threshold | None = None  # money, the monthly change
    monthly_increase_percent: Threshold | None = None  # percent of the baseline
    # GitHub repository role whose ``maestro approve-cost`` comment lifts a block.
    approver_role: Literal["admin", "maintain", "write"] = "maintain"


class CostConfig(BaseModel):
    """The ``cost:`` key of ``.gitops.yml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: CostPolicy = Field(default_factory=CostPolicy)
    insights: InsightsConfig = Field(default_factory=InsightsConfig)
    estimator: Literal["auto", "infracost", "builtin"] = "auto"
    default_region: str = "us-east-1"  # when the plan's aws provider region is not a constant


class PolicyReason(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: Literal["monthly_total", "monthly_increase", "monthly_increase_percent"]
    action: Literal["warn", "block"]
    message: str


class PolicyResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    verdict: Verdict
    reasons: tuple[PolicyReason, ...] = ()
    approver_role: str = "maintain"

    @property
    def needs_approval(self) -> bool:
        """True when the apply must wait for ``maestro approve-cost``."""
        return self.verdict is Verdict.BLOCK

    def status_description(self) -> str:
        """A commit-status description (GitHub keeps 140 characters)."""
        if self.verdict is Verdict.PASS:
            return "Cost within policy"
        head = "Cost blocked" if self.needs_approval else "Cost warning"
        text = f"{head}: " + "; ".join(r.message for r in self.reasons)
        return text if len(text) <= 140 else text[:139] + "…"

    def render(self) -> str:
        """Markdown lines for the plan comment; empty when the policy passes."""
        if self.verdict is Verdict.PASS:
            return ""
        icon = {Verdict.WARN: "⚠️", Verdict.BLOCK: "⛔"}[self.verdict]
        lines = [f"{icon} **Cost policy: {self.verdict.value}**", ""]
        lines += [f"- {r.message} ({r.action})" for r in self.reasons]
        if self.needs_approval:
            lines += [
                "",
                f"The apply waits until a user with the `{self.approver_role}` role comments "
                f"`{APPROVE_COMMAND}`.",
            ]
        return "\n".join(lines) + "\n"


def is_approval_comment(body: str) -> bool:
    """True when a PR comment is the approval command (first line, any case or spacing)."""
    lines = body.strip().splitlines()
    return bool(lines) and " ".join(lines[0].split()).lower() == APPROVE_COMMAND


def role_allows(role: str, required: str) -> bool:
    """Whether a user's repository role (``admin``, ``maintain``, ...) meets ``required``."""
    if role not in ROLE_ORDER or required not in ROLE_ORDER:
        return False
    return ROLE_ORDER.index(role) >= ROLE_ORDER.index(required)


def evaluate_policy(report: CostReport, policy: CostPolicy) -> PolicyResult:
    """Judge a report against the thresholds; the strictest exceeded action wins.

    Increase thresholds need a baseline: without one (``diff`` is ``None``) they are not
    evaluated, and a percent cannot be taken of a zero baseline (the money threshold covers
    a first deploy).
    """
    reasons = [r for r in _checks(report, policy) if r is not None]
    verdict = Verdict.PASS
    if reasons:
        verdict = Verdict.BLOCK if any(r.action == "block" for r in reasons) else Verdict.WARN
    return PolicyResult(verdict=verdict, reasons=tuple(reasons), approver_role=policy.approver_role)


def _checks(report: CostReport, policy: CostPolicy) -> list[PolicyReason | None]:
    cur = report.currency
    total, diff = report.total_monthly_cost, report.diff_total_monthly_cost
    past = report.past_total_monthly_cost
    out: list[PolicyReason | None] = []
    t = policy.monthly_total
    if t is not None and total > t.limit:
        msg = f"monthly total {money(total, cur)} is above {money(t.limit, cur)}"
        out.append(PolicyReason(rule="monthly_total", action=t.action, message=msg))
    t = policy.monthly_increase
    if t is not None and diff is not None and diff > t.limit:
        msg = f"monthly increase {money(diff, cur)} is above {money(t.limit, cur)}"
        out.append(PolicyReason(rule="monthly_increase", action=t.action, message=msg))
    t = policy.monthly_increase_percent
    if t is not None and diff is not None and past:
        pct = diff * 100 / past
        if pct > t.limit:
            msg = f"monthly increase of {pct:.1f}% is above {t.limit}%"
            out.append(PolicyReason(rule="monthly_increase_percent", action=t.action, message=msg))
    return out
