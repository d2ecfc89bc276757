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
from chalicelib.feedback.plan_text import render_plan_diff
from chalicelib.feedback.redact import redact, sensitive_values
from chalicelib.feedback.split import GITHUB_COMMENT_LIMIT, Header, Section, split_comment
from chalicelib.plans.models import Change, OutputChangeValues, PlanOverview, parse_plan
from chalicelib.plans.summary import Action, PlanSummary, summarize_plan

DEFAULT_MAX_PARTS = 10  # beyond this the comment points to the full plan instead
LOG_TAIL_LINES = 60

_GROUP_TITLES: dict[Action, str] = {
    "create": "🟢 to create",
    "update": "🟡 to update in place",
    "replace": "🔁 to replace",
    "delete": "🔴 to destroy",
    "forget": "⚪ to forget (object kept)",
    "read": "🔎 data sources to read during apply",
}


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
    """Terraform's own words, with replacements counted apart: "3 to add, 1 to change, ..."."""
    if not summary.has_changes:
        return "**No changes.** The infrastructure matches the configuration."
    c = summary.counts
    text = (
        f"**Plan:** {c['create']} to add, {c['update']} to change, "
        f"{c['delete']} to destroy, {c['replace']} to replace."
    )
    if c["forget"]:
        text += f" {c['forget']} to forget."
    if summary.outputs_changed:
        text += f" {summary.outputs_changed} output(s) change."
    return text


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
    summary: PlanSummary, ctx: CommentContext, cost_block: str | None, cost_reason: str | None
) -> Section:
    lines = [summary_line(summary)]
    if summary.errored:
        lines.append("⚠️ Terraform reported errors: this plan is incomplete.")
    cost = _cost_lines(cost_block, cost_reason)
    lines += ["", _links_line(ctx), *(["", *cost] if cost else [])]
    return Section(lines=lines, keep_together=True)


def _cell(text: str) -> str:
    # Inside a table a pipe ends the cell and a backtick ends the code span.
    return text.replace("`", "'").replace("|", "\\|")


def _table_sections(summary: PlanSummary) -> Iterable[Section]:
    for action, title in _GROUP_TITLES.items():
        entries = summary.resources[action]
        if not entries:
            continue
        rows = []
        for entry in entries:
            note = entry.reason.replace("_", " ") if entry.reason else ""
            if entry.previous_address:
                note = f"moved from `{_cell(entry.previous_address)}` {note}".strip()
            rows.append(f"| `{_cell(entry.address)}` | {note} |")
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
    sections = [
        _redacted(section, sensitive)
        for section in [
            _summary_section(summary, ctx, cost_block, cost_reason),
            *_table_sections(summary),
        ]
    ]
    body = _full_plan_lines(plan, plan_text, sensitive)
    if body:
        sections.append(_details_section(body, "Full plan"))
    return split_comment(sections, _header(ctx), limit=limit, max_parts=max_parts)


def _full_plan_lines(
    plan: PlanOverview | None, plan_text: str | None, sensitive: Sequence[str]
) -> list[str]:
    if plan_text is not None:
        text = "\n".join(_diff_line(line) for line in plan_text.rstrip("\n").split("\n"))
    elif plan is not None:
        text = "\n".join(render_plan_diff(plan))
    else:
        return []
    return redact(text, sensitive).split("\n") if text else []


_TERRAFORM_SYMBOLS = {"+": "+", "-": "-", "~": "!", "-/+": "-/+", "+/-": "+/-", "<=": "<="}


def _diff_line(line: str) -> str:
    """Move Terraform's change symbol to column 0 so that a ``diff`` block colours the line."""
    stripped = line.lstrip(" ")
    symbol, _, rest = stripped.partition(" ")
    if symbol not in _TERRAFORM_SYMBOLS or not rest:
        return line
    indent = len(line) - len(stripped)
    return f"{_TERRAFORM_SYMBOLS[symbol]}{' ' * indent} {rest}"  # same width as before


def _redacted(section: Section, sensitive: Sequence[str]) -> Section:
    lines = redact("\n".join(section.lines), sensitive).split("\n")
    return Section(
        lines=lines,
        opener=section.opener,
        closer=section.closer,
        reopener=section.reopener,
        keep_together=section.keep_together,
    )


class StepResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    state: str  # "succeeded", "failed", "skipped"
    seconds: float | None = None


def _steps_table(steps: Sequence[StepResult]) -> Section:
    icons = {"succeeded": "✅", "failed": "❌", "skipped": "⏭️"}
    rows = [
        f"| {icons.get(s.state, '•')} {_cell(s.name)} | {s.state} | "
        f"{'' if s.seconds is None else f'{s.seconds:.0f} s'} |"
        for s in steps
    ]
    return Section(lines=rows, opener="| step | result | time |\n| --- | --- | --- |")


def render_result_comments(
    ctx: CommentContext,
    *,
    succeeded: bool,
    headline: str,
    steps: Sequence[StepResult] = (),
    failed_step: str | None = None,
    log_tail: str | None = None,
    finished_at: datetime | None = None,
    sensitive: Iterable[str] = (),
    limit: int = GITHUB_COMMENT_LIMIT,
) -> list[str]:
    """An apply, monitoring or deploy result; a failure names its step and shows the log tail.

    ``headline`` is one sentence, e.g. "Applied: 3 added, 1 changed, 0 destroyed."
    """
    sensitive = tuple(sensitive)
    icon = "✅" if succeeded else "❌"
    lines = [f"{icon} {headline}"]
    if not succeeded and failed_step:
        lines.append(f"Failed step: **{_cell(failed_step)}**")
    when = f" · finished {finished_at:%Y-%m-%d %H:%M} UTC" if finished_at else ""
    lines += ["", _links_line(ctx) + when]
    sections = [_redacted(Section(lines=lines, keep_together=True), sensitive)]
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
