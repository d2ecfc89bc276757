"""The full plan a PR reader may open: the plan's diff, redacted as the comment is.

The plan comment links it (a presigned URL, valid for a short time, readable by whoever holds
the link). The raw ``terraform show -json`` output stays private: it carries every sensitive
value in clear. What is linked is rendered from the plan JSON and masked with the values
Terraform marks sensitive (encoded forms included) and the credential patterns, everywhere,
addresses too. The runner stores it beside the plan (``plan_redacted``); the controller links
nothing else.
"""

from __future__ import annotations

from chalicelib.feedback.plan_text import render_drift_diff, render_plan_diff
from chalicelib.feedback.redact import redact
from chalicelib.feedback.render import plan_sensitive_values, summary_line
from chalicelib.plans.models import parse_plan
from chalicelib.plans.summary import summarize_plan

# Values are parsed up to this size: beyond it the linked plan lists resources only.
FULL_PLAN_DETAIL_LIMIT = 32 * 1024 * 1024
ARTIFACT_NAME = "plan-redacted.txt"


def redacted_full_plan(data: bytes, detail_limit: int = FULL_PLAN_DETAIL_LIMIT) -> str:
    """The plan's summary, diff and drift as text, with every sensitive value masked.

    Raises ``PlanParseError`` when ``data`` is not ``terraform show -json`` output.
    """
    plan = parse_plan(data, values=len(data) <= detail_limit)
    sensitive = plan_sensitive_values(plan)
    lines = [summary_line(summarize_plan(plan)), "", *render_plan_diff(plan)]
    drift = list(render_drift_diff(plan))
    if drift:
        lines += ["", "Changed outside Terraform:", *drift]
    return redact("\n".join(lines), sensitive) + "\n"
