"""One-line commit status descriptions (GitHub keeps at most 140 characters)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from chalicelib.plans.summary import PlanSummary

STATUS_DESCRIPTION_LIMIT = 140


def _fit(text: str) -> str:
    text = " ".join(text.split())  # one line
    if len(text) <= STATUS_DESCRIPTION_LIMIT:
        return text
    return text[: STATUS_DESCRIPTION_LIMIT - 1] + "…"


def format_monthly_delta(delta: Decimal) -> str:
    """``Decimal("12.4")`` → ``"+$12.40/mo"``; ``Decimal("-3")`` → ``"-$3.00/mo"``."""
    cents = delta.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if cents < 0 else "+"
    return f"{sign}${abs(cents):,.2f}/mo"


def plan_counts(summary: PlanSummary) -> str:
    """``+3 ~1 -0``, with ``±n`` appended when resources are replaced."""
    c = summary.counts
    text = f"+{c['create']} ~{c['update']} -{c['delete']}"
    return text + (f" ±{c['replace']}" if c["replace"] else "")


def plan_description(summary: PlanSummary, monthly_delta: Decimal | None = None) -> str:
    """E.g. ``+3 ~1 -0, +$12.40/mo``; ``no changes`` when the plan changes nothing."""
    text = plan_counts(summary) if summary.has_changes else "no changes"
    if summary.errored:
        text += ", plan incomplete (errors)"
    if monthly_delta is not None:
        text += f", {format_monthly_delta(monthly_delta)}"
    return _fit(text)


def pending_description(pipeline: str) -> str:
    return _fit(f"{pipeline}: queued")


def running_description(pipeline: str, step: str | None = None) -> str:
    return _fit(f"{pipeline}: running" + (f" ({step})" if step else ""))


def waiting_for_lock_description(holder_pr: int, directory: str, workspace: str) -> str:
    """A plan queued behind another PR's lock is pending, not failed."""
    return _fit(f"waiting for PR #{holder_pr} (lock on {directory}, workspace {workspace})")


def failure_description(step: str, reason: str | None = None) -> str:
    return _fit(f"failed at {step}" + (f": {reason}" if reason else ""))


def success_description(headline: str) -> str:
    return _fit(headline)
