"""One-line commit status descriptions (GitHub keeps at most 140 characters)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from chalicelib.plans.summary import CHANGING, PlanSummary

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
    """``+3 ~1 -0``, then ``±n`` for replacements and the imports, moves and forgets.

    E.g. ``+1 ~1 -0, 5 import`` or ``+0 ~0 -0, 5 move``.
    """
    c = summary.counts
    text = f"+{c['create']} ~{c['update']} -{c['delete']}"
    text += f" ±{c['replace']}" if c["replace"] else ""
    extra = [
        f"{n} {word}"
        for word, n in (
            ("import", summary.imports),
            ("move", summary.moves),
            ("forget", summary.count("forget")),
            ("unrecognised", summary.count("unrecognised")),
        )
        if n
    ]
    return ", ".join([text, *extra])


def plan_description(summary: PlanSummary, monthly_delta: Decimal | None = None) -> str:
    """E.g. ``+3 ~1 -0, +$12.40/mo``; ``no changes`` when the plan changes nothing.

    A refresh-only plan says how many objects changed outside Terraform; drift found by a
    normal plan is appended (``, 2 drifted``).
    """
    if summary.refresh_only:
        text = f"refresh-only, {len(summary.drift)} changed outside Terraform"
    elif summary.has_changes:
        text = plan_counts(summary)
        if not any(summary.counts[a] for a in CHANGING) and summary.outputs_changed:
            text = f"outputs only ({summary.outputs_changed})"
    else:
        text = "no changes"
    if summary.drift and not summary.refresh_only:
        text += f", {len(summary.drift)} drifted"
    if summary.failed_checks:
        text += f", {len(summary.failed_checks)} check(s) failed"
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


def nothing_done_description(run_number: int, reason: str | None) -> str:
    """A run that succeeded without acting (its acting steps were all skipped) says so."""
    return _fit(f"run #{run_number} did nothing" + (f": {reason}" if reason else ""))


def ended_description(run_number: int, status: str, reason: str | None = None) -> str:
    """E.g. ``run #3 timed_out: no result within 60 minutes``."""
    return _fit(f"run #{run_number} {status}" + (f": {reason}" if reason else ""))


def failure_description(step: str, reason: str | None = None) -> str:
    return _fit(f"failed at {step}" + (f": {reason}" if reason else ""))


def success_description(headline: str) -> str:
    return _fit(headline)
