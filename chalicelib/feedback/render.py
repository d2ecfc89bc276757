"""Comment bodies: the plan comment and the apply, monitoring and deploy result comments.

Every function returns the list of comment bodies (usually one; more when GitHub's limit
forces a split), already redacted, each starting with its hidden markers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from chalicelib.feedback.markers import RunMarker, part_thread, thread_marker
from chalicelib.feedback.plan_text import HEADLINE_RE, render_drift_diff, render_plan_diff
from chalicelib.feedback.redact import redact, redact_address, sensitive_values
from chalicelib.feedback.split import GITHUB_COMMENT_LIMIT, Header, Section, split_comment
from chalicelib.plans.models import Change, OutputChangeValues, PlanOverview, parse_plan
from chalicelib.plans.summary import CHANGING, Action, PlanSummary, ResourceEntry, summarize_plan

DEFAULT_MAX_PARTS = 10  # beyond this the comment points to the full plan instead
LOG_TAIL_LINES = 60

_GROUP_TITLES: dict[Action, str] = {
    "create": "🟢 to create",
    "update": "🟡 to update in place",
    "replace": "🔁 to replace",
    "delete": "🔴 to destroy",
    "import": "📥 to import (object adopted, not changed)",
    "move": "🚚 to move (address changes, object not changed)",
    "forget": "⚪ to forget (no longer managed, object kept running)",
    "read": "🔎 data sources to read during apply",
    "unrecognised": "❓ with actions this version does not recognise",
}
_FORGET_NOTE = "removed block with destroy = false: the object keeps running"


class CommentContext(BaseModel):
    """Where a result comes from: the run, its commit and its links."""

    model_config = ConfigDict(frozen=True)

    thread: str  # e.g. "terraform-plan" or "terraform-plan:infra/default"
    title: str  # e.g. "Terraform plan · `infra` · workspace `default`"
    marker: RunMarker
    sha: str
    run_url: str
    run_label: str  # e.g. "terraform-plan #12"
    full_plan_url: str | None = None  # presigned link to the redacted plan in S3


def _header(ctx: CommentContext) -> Header:
    def header(part: int, total: int) -> str:
        numbering = f" (part {part} of {total})" if total > 1 else ""
        return "\n".join(
            [
                thread_marker(part_thread(ctx.thread, part)),
                ctx.marker.render(),
                f"### MaestrOps · {ctx.title}{numbering}",
            ]
        )

    return header


def _fence(lines: Sequence[str]) -> str:
    # A fence longer than any backtick run at a line start keeps the block closed correctly.
    longest = max(
        (len(ln) - len(ln.lstrip("`")) for ln in lines if ln.startswith("```")), default=0
    )
    return "`" * max(3, longest + 1)


def summary_line(summary: PlanSummary) -> str:
    """Terraform's own words, with replacements counted apart: "3 to add, 1 to change, ...".

    Imports come first as in Terraform's "Plan: 5 to import, 1 to add, ..."; moves and
    forgets follow when there are any. A refresh-only plan and an outputs-only plan say so.
    """
    if summary.refresh_only:
        return _refresh_only_line(summary)
    if not summary.has_changes:
        return "**No changes.** The infrastructure matches the configuration."
    c = summary.counts
    if not any(c[a] for a in CHANGING):
        return (
            f"**Outputs only:** {summary.outputs_changed} output(s) change; "
            "no infrastructure changes."
        )
    words = [f"{summary.imports} to import"] if summary.imports else []
    words += [
        f"{c['create']} to add",
        f"{c['update']} to change",
        f"{c['delete']} to destroy",
        f"{c['replace']} to replace",
    ]
    words += [f"{n} to {w}" for w, n in (("move", summary.moves), ("forget", c["forget"])) if n]
    if c["unrecognised"]:
        words.append(f"{c['unrecognised']} unrecognised")
    text = f"**Plan:** {', '.join(words)}."
    if summary.outputs_changed:
        text += f" {summary.outputs_changed} output(s) change."
    return text


def _refresh_only_line(summary: PlanSummary) -> str:
    if not summary.drift:
        return "**Refresh-only plan: no changes.** Nothing changed outside Terraform."
    return (
        f"**Refresh-only plan:** {len(summary.drift)} object(s) changed outside Terraform. "
        "Applying it updates the state to match them; it changes no infrastructure."
    )


def _warning_lines(summary: PlanSummary) -> list[str]:
    lines = []
    if summary.errored:
        lines.append("⚠️ Terraform reported errors: this plan is incomplete.")
    elif summary.complete is False:
        lines.append("⚠️ This plan is partial: apply it, then plan again for the rest.")
    for deferred in summary.deferred:
        lines.append(
            f"⏸️ `{_cell(deferred.address)}` deferred to a later plan "
            f"({(deferred.deferred_reason or 'unknown').replace('_', ' ')})."
        )
    for check in summary.failed_checks:
        verdict = "failed" if check.status == "fail" else "could not be evaluated"
        detail = "; ".join(check.messages)
        lines.append(
            f"⚠️ check `{_cell(check.address)}` {verdict}" + (f": {detail}" if detail else ".")
        )
    if summary.drift and not summary.refresh_only:
        lines.append(
            f"🔀 {len(summary.drift)} object(s) changed outside Terraform since the last run "
            "(listed below)."
        )
    if summary.newer_format:
        lines.append(
            f"❓ Plan format {summary.format_version} is newer than this version of MaestrOps "
            "recognises: some details may be missing."
        )
    return lines


def _links_line(ctx: CommentContext) -> str:
    parts = [f"commit `{ctx.sha[:7]}`", f"[{ctx.run_label}]({ctx.run_url})"]
    if ctx.full_plan_url:
        parts.append(f"[full plan]({ctx.full_plan_url}) (link valid for a short time)")
    return " · ".join(parts)


def _cost_lines(cost_block: str | None, cost_reason: str | None) -> list[str]:
    if cost_block is None:
        return [f"💰 cost: not estimated ({cost_reason or 'no cost estimate for this run'})"]
    # An empty block means "estimated, and the cost does not change": nothing to show.
    return cost_block.strip("\n").split("\n") if cost_block.strip() else []


def _summary_section(
    summary: PlanSummary,
    ctx: CommentContext,
    cost_block: str | None,
    cost_reason: str | None,
    sensitive: Sequence[str],
) -> Section:
    # The links are the controller's own: never passed through the value masking.
    lines = _redacted_lines([summary_line(summary), *_warning_lines(summary)], sensitive)
    cost = _redacted_lines(_cost_lines(cost_block, cost_reason), sensitive)
    lines += ["", _links_line(ctx), *(["", *cost] if cost else [])]
    return Section(lines=lines, keep_together=True)


def _cell(text: str) -> str:
    # Inside a table a pipe ends the cell and a backtick ends the code span.
    return text.replace("`", "'").replace("|", "\\|")


def _note(entry: ResourceEntry, action: Action, sensitive: Sequence[str]) -> str:
    notes = []
    if action == "forget":
        notes.append(_FORGET_NOTE)
    elif entry.reason:
        notes.append(entry.reason.replace("_", " "))
    if entry.create_before_destroy:
        notes.append("create before destroy (+/-)")
    if entry.previous_address:
        notes.append(f"moved from `{_cell(redact_address(entry.previous_address, sensitive))}`")
    if entry.importing:
        imported = f"id `{_cell(redact(entry.import_id, sensitive))}`" if entry.import_id else ""
        notes.append(f"imported {imported}".strip())
    if action == "unrecognised":
        notes.append(f"actions {_cell(', '.join(entry.actions))}")
    return "; ".join(notes)


def _addresses(lines: Sequence[str], sensitive: Sequence[str]) -> list[str]:
    """``redact_address`` of each line, in one pass over them all when that keeps the lines."""
    masked = redact_address("\n".join(lines), sensitive).split("\n")
    if len(masked) == len(lines):
        return masked
    return [redact_address(line, sensitive) for line in lines]  # a match spanned lines


def _table_sections(summary: PlanSummary, sensitive: Sequence[str]) -> Iterable[Section]:
    for action, title in _GROUP_TITLES.items():
        entries = summary.resources[action]
        if not entries:
            continue
        addresses = _addresses([entry.address for entry in entries], sensitive)
        rows = [
            f"| `{_cell(address)}` | {_note(entry, action, sensitive)} |"
            for address, entry in zip(addresses, entries, strict=True)
        ]
        head = f"**{len(entries)} {title}**\n\n| resource | note |\n| --- | --- |"
        reopen = f"**{title} (continued)**\n\n| resource | note |\n| --- | --- |"
        yield Section(lines=rows, opener=head, reopener=reopen)


def _details_section(lines: Sequence[str], summary_text: str) -> Section:
    fence = _fence(lines)
    return Section(
        lines=lines,
        opener=f"<details><summary>{summary_text}</summary>\n\n{fence}diff",
        closer=f"{fence}\n</details>",
        reopener=f"<details><summary>{summary_text} (continued)</summary>\n\n{fence}diff",
    )


def render_plan_comments(
    summary: PlanSummary,
    ctx: CommentContext,
    *,
    plan: PlanOverview | None = None,
    plan_text: str | None = None,
    cost_block: str | None = None,
    cost_reason: str | None = None,
    sensitive: Iterable[str] = (),
    limit: int = GITHUB_COMMENT_LIMIT,
    max_parts: int | None = DEFAULT_MAX_PARTS,
) -> list[str]:
    """The plan comment(s) of a run: summary, resources by action, the full plan, the cost.

    ``plan_text`` (``terraform show -no-color`` output) is preferred for the full plan;
    without it the diff is rendered from ``plan``. ``cost_block`` is the rendered Markdown of
    the cost estimate; when it is ``None`` the comment says "cost: not estimated" and why.
    """
    sensitive = tuple(sensitive)
    # The summary and tables are redacted too: for_each keys and cost text are data as well.
    # Addresses are masked as addresses (whole tokens), values as values, links not at all.
    sections = [
        _summary_section(summary, ctx, cost_block, cost_reason, sensitive),
        *_table_sections(summary, sensitive),
    ]
    body = _full_plan_lines(plan, plan_text, sensitive)
    if body:
        sections.append(_details_section(body, "Full plan"))
    drift = _drift_lines(plan, summary, sensitive)
    if drift:
        title = f"Changed outside Terraform ({len(summary.drift)})"
        sections.append(_details_section(drift, title))
    return split_comment(sections, _header(ctx), limit=limit, max_parts=max_parts)


def _full_plan_lines(
    plan: PlanOverview | None, plan_text: str | None, sensitive: Sequence[str]
) -> list[str]:
    if plan_text is not None:
        lines = [_diff_line(line) for line in plan_text.rstrip("\n").split("\n")]
    elif plan is not None:
        lines = list(render_plan_diff(plan))
    else:
        return []
    return _redacted_plan_lines(lines, sensitive) if any(lines) else []


def _drift_lines(
    plan: PlanOverview | None, summary: PlanSummary, sensitive: Sequence[str]
) -> list[str]:
    if plan is not None:
        lines = list(render_drift_diff(plan))
    else:
        lines = [f"! {entry.address} has changed" for entry in summary.drift]
    return _redacted_plan_lines(lines, sensitive)


def _is_headline(line: str) -> bool:
    return bool(HEADLINE_RE.match(line)) or line.lstrip("+-!~./<= ").startswith("# ")


def _redacted_plan_lines(lines: Sequence[str], sensitive: Sequence[str]) -> list[str]:
    """Values are masked as values; headline lines (the addresses) only as whole tokens."""
    headline = [_is_headline(line) for line in lines]
    addresses = iter(
        _addresses([ln for ln, h in zip(lines, headline, strict=True) if h], sensitive)
    )
    values = [ln for ln, h in zip(lines, headline, strict=True) if not h]
    masked = redact("\n".join(values), sensitive).split("\n") if values else []
    if len(masked) != len(values):  # a match spanned lines (a private key): keep it whole
        return redact("\n".join(lines), sensitive).split("\n")
    rest = iter(masked)
    return [next(addresses) if h else next(rest) for h in headline]


def _redacted_lines(lines: Sequence[str], sensitive: Sequence[str]) -> list[str]:
    return redact("\n".join(lines), sensitive).split("\n") if lines else []


_TERRAFORM_SYMBOLS = {"+": "+", "-": "-", "~": "!", "-/+": "-/+", "+/-": "+/-", "<=": "<="}


def _diff_line(line: str) -> str:
    """Move Terraform's change symbol to column 0 so that a ``diff`` block colours the line."""
    stripped = line.lstrip(" ")
    symbol, _, rest = stripped.partition(" ")
    if symbol not in _TERRAFORM_SYMBOLS or not rest:
        return line
    indent = len(line) - len(stripped)
    return f"{_TERRAFORM_SYMBOLS[symbol]}{' ' * indent} {rest}"  # same width as before


class StepRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    state: str  # "succeeded", "failed", "skipped"
    seconds: float | None = None


def _steps_table(steps: Sequence[StepRow]) -> Section:
    icons = {"succeeded": "✅", "failed": "❌", "skipped": "⏭️"}
    rows = [
        f"| {icons.get(s.state, '•')} {_cell(s.name)} | {s.state} | "
        f"{'' if s.seconds is None else f'{s.seconds:.0f} s'} |"
        for s in steps
    ]
    return Section(lines=rows, opener="| step | result | time |\n| --- | --- | --- |")


NOTHING_DONE_ICON = "⏭️"


def render_result_comments(
    ctx: CommentContext,
    *,
    succeeded: bool,
    headline: str,
    steps: Sequence[StepRow] = (),
    failed_step: str | None = None,
    log_tail: str | None = None,
    finished_at: datetime | None = None,
    sensitive: Iterable[str] = (),
    limit: int = GITHUB_COMMENT_LIMIT,
    nothing_done: bool = False,
) -> list[str]:
    """An apply, monitoring or deploy result; a failure names its step and shows the log tail.

    ``headline`` is one sentence, e.g. "Applied: 3 added, 1 changed, 0 destroyed."
    ``nothing_done``: the run succeeded without acting (every acting step was skipped).
    """
    sensitive = tuple(sensitive)
    icon = NOTHING_DONE_ICON if nothing_done else ("✅" if succeeded else "❌")
    lines = [f"{icon} {headline}"]
    if not succeeded and failed_step:
        lines.append(f"Failed step: **{_cell(failed_step)}**")
    when = f" · finished {finished_at:%Y-%m-%d %H:%M} UTC" if finished_at else ""
    lines = [*_redacted_lines(lines, sensitive), "", _links_line(ctx) + when]
    sections = [Section(lines=lines, keep_together=True)]
    if steps:
        sections.append(_steps_table(steps))
    if log_tail:
        tail = redact(log_tail, sensitive).rstrip("\n").split("\n")[-LOG_TAIL_LINES:]
        title = f"Last {len(tail)} log lines" + (f" of {failed_step}" if failed_step else "")
        fence = _fence(tail)
        sections.append(
            Section(
                lines=tail,
                opener=f"<details open><summary>{_cell(title)}</summary>\n\n{fence}text",
                closer=f"{fence}\n</details>",
            )
        )
    note = "_… the full log is in the run linked above._"
    return split_comment(sections, _header(ctx), limit=limit, max_parts=1, overflow_note=note)


# Above this size the comment lists resources without their attribute values: parsing every
# value of a huge plan costs several times the file in memory, and the full plan is one click
# away in the runs API anyway.
DETAIL_LIMIT_BYTES = 2_000_000


def plan_sensitive_values(plan: PlanOverview) -> set[str]:
    """The values Terraform marks sensitive in ``plan`` (none when values were not parsed)."""
    pairs = []
    for rc in plan.resource_changes:
        change = rc.change
        if isinstance(change, Change):
            pairs += [
                (change.before, change.before_sensitive),
                (change.after, change.after_sensitive),
            ]
    for rc in plan.resource_drift:
        change = rc.change
        if isinstance(change, Change):
            pairs += [
                (change.before, change.before_sensitive),
                (change.after, change.after_sensitive),
            ]
    for output in plan.output_changes.values():
        if isinstance(output, OutputChangeValues):
            pairs += [
                (output.before, output.before_sensitive),
                (output.after, output.after_sensitive),
            ]
    return sensitive_values(pairs)


def render_plan_comments_from_json(
    data: bytes, ctx: CommentContext, *, detail_limit: int = DETAIL_LIMIT_BYTES, **options: Any
) -> tuple[PlanSummary, list[str]]:
    """Parse ``terraform show -json`` output and render its comments in one call.

    Raises ``PlanParseError`` when ``data`` is not a plan. ``options`` are those of
    ``render_plan_comments`` (``plan_text``, ``cost_block``, ``cost_reason``, ...).
    """
    plan = parse_plan(data, values=len(data) <= detail_limit)
    summary = summarize_plan(plan)
    sensitive = plan_sensitive_values(plan) | set(options.pop("sensitive", ()))
    return summary, render_plan_comments(summary, ctx, plan=plan, sensitive=sensitive, **options)
