"""The cost block of the plan comment (markdown), from a CostReport of either estimator.

The block opens with the total change, then lists changed resources by monthly impact,
marks usage-based costs, names the estimator and the price catalog, and lists what could
not be priced. It is the empty string when the plan changes no cost, so the comment
stays short for the many PRs that do not touch billable resources.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal

from chalicelib.costs.model import ZERO, CostReport, Estimator, ResourceCost, UnpricedResource

MAX_ROWS = 25  # a longer table drowns the plan summary; the rest is counted
MAX_UNPRICED = 10
USAGE_MARK = "†"
CENT = Decimal("0.01")


def render_cost_block(report: CostReport, insights: Sequence[object] = ()) -> str:
    """Markdown for the PR comment, or ``""`` when nothing changed in cost.

    ``insights`` are ``chalicelib.costs.insights.Insight`` values; they go under the block.
    """
    diff = report.diff_total_monthly_cost
    quiet = not report.has_cost_change and not report.unpriced_changes and not report.errors
    if diff is not None and quiet:
        return ""
    parts = ["### 💰 Cost estimate", "", _headline(report), ""]
    parts += _errors(report)
    parts += _table(report)
    parts += _unpriced(report)
    parts += _insights(insights, report.currency)
    parts += ["", _footer(report)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(parts)).rstrip("\n") + "\n"


def money(amount: Decimal, currency: str = "USD", *, signed: bool = False) -> str:
    """``$1,234.57``, ``+$4.60``, ``-$742.64``; other currencies as ``EUR 12.00``."""
    value = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ("+" if signed and value > 0 else "")
    body = f"{abs(value):,.2f}"
    return f"{sign}${body}" if currency == "USD" else f"{sign}{currency} {body}"


def percent(diff: Decimal, past: Decimal) -> str:
    if not past:
        return "new"
    value = (diff * 100 / past).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{'+' if value > 0 else ''}{value}%"


def _headline(report: CostReport) -> str:
    cur, total = report.currency, report.total_monthly_cost
    diff, past = report.diff_total_monthly_cost, report.past_total_monthly_cost
    if diff is None or past is None:
        return f"**Monthly cost: {money(total, cur)}** (no baseline to compare with)"
    if not diff:
        return f"**Monthly cost unchanged: {money(total, cur)}**"
    verb, icon = ("increase", "📈") if diff > 0 else ("decrease", "📉")
    change = f"{money(abs(diff), cur)} {icon}"
    return (
        f"**Monthly cost will {verb} by {change}** "
        f"({money(past, cur)} → {money(total, cur)}, {percent(diff, past)})"
    )


def _errors(report: CostReport) -> list[str]:
    """A project that could not be estimated makes every total above it incomplete."""
    if not report.errors:
        return []
    out = ["⚠️ **Not estimated** (the totals leave these out):"]
    out += [f"- {_cell(project)}: {_cell(message)}" for project, message in report.errors]
    return [*out, ""]


def _table(report: CostReport) -> list[str]:
    if report.diff_total_monthly_cost is None:
        rows = sorted(
            (r for r in report.resources if r.monthly_cost),
            key=lambda r: (-(r.monthly_cost or ZERO), r.address),
        )
        return _rows(report, rows, baseline=False)
    return _rows(report, report.changed_resources(), baseline=True)


def _rows(report: CostReport, rows: list[ResourceCost], *, baseline: bool) -> list[str]:
    if not rows:
        return []
    cur = report.currency
    project_of = _project_names(report)
    with_project = len(report.projects) > 1
    head = ["Project"] if with_project else []
    head += (
        ["Resource", "Monthly change", "Before", "After"] if baseline else ["Resource", "Monthly"]
    )
    out = ["| " + " | ".join(head) + " |", _align(head)]
    for r in rows[:MAX_ROWS]:
        name = f"`{_cell(r.address)}`" + (f" {USAGE_MARK}" if r.usage_based else "")
        cells = [_cell(project_of.get(id(r), ""))] if with_project else []
        if baseline:
            cells += [
                name,
                money(r.diff or ZERO, cur, signed=True),
                money(r.past_monthly_cost or ZERO, cur),
                money(r.monthly_cost or ZERO, cur),
            ]
        else:
            cells += [name, money(r.monthly_cost or ZERO, cur)]
        out.append("| " + " | ".join(cells) + " |")
    if len(rows) > MAX_ROWS:
        rest = rows[MAX_ROWS:]
        amount = sum(((r.diff if baseline else r.monthly_cost) or ZERO for r in rest), ZERO)
        out += ["", f"…and {len(rest)} more ({money(amount, cur, signed=baseline)} together)."]
    if any(r.usage_based for r in rows):
        out += [
            "",
            f"{USAGE_MARK} Usage-based: part of this cost depends on usage (requests, data, "
            "storage); lines without usage values count as zero.",
        ]
    return [*out, ""]


def _align(head: list[str]) -> str:
    # Money columns right-aligned; names left-aligned.
    return "|" + "|".join("---" if h in ("Project", "Resource") else "---:" for h in head) + "|"


def _project_names(report: CostReport) -> dict[int, str]:
    return {id(r): p.name for p in report.projects for r in p.resources}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _unpriced(report: CostReport) -> list[str]:
    if report.estimator is Estimator.INFRACOST:
        return _unsupported(report.unpriced)
    touched = report.unpriced_changes
    others = len(report.unpriced) - len(touched)
    if not touched and not others:
        return []
    out = [f"**Not priced** ({len(report.unpriced)}):"]
    for u in touched[:MAX_UNPRICED]:
        out.append(f"- `{_cell(u.address)}` ({u.action}): {u.reason}")
    if len(touched) > MAX_UNPRICED:
        out.append(f"- …and {len(touched) - MAX_UNPRICED} more changed resources")
    if others:
        out.append(f"- {others} unchanged resource(s) of types without a price")
    return [*out, ""]


def _unsupported(unpriced: Iterable[UnpricedResource]) -> list[str]:
    items = [f"{u.count} x `{u.resource_type}`" for u in unpriced]
    if not items:
        return []
    return [f"**Not supported by Infracost**: {', '.join(items)}", ""]


def _insights(insights: Sequence[object], currency: str) -> list[str]:
    if not insights:
        return []
    out = ["#### 💡 Ways to spend less", ""]
    for insight in insights:
        saving = getattr(insight, "monthly_saving", ZERO)
        address = getattr(insight, "address", "")
        message = getattr(insight, "message", "")
        out.append(f"- **{money(saving, currency)}/month**: `{_cell(address)}`: {message}")
    return [*out, ""]


def _footer(report: CostReport) -> str:
    if report.estimator is Estimator.INFRACOST:
        source = "Estimated by Infracost"
    else:
        region = f" for {report.region}" if report.region else ""
        source = (
            f"Estimated by MaestrOps' built-in estimator from AWS on-demand prices{region}, "
            f"catalog {report.catalog_version} of {report.catalog_date}"
        )
    return f"<sub>{source} · {report.currency} · a month is 730 hours</sub>"
