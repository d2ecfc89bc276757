"""The plan in a diff-like text, for the collapsible "full plan" block of the comment.

When the runner stored ``terraform show -no-color`` output, the comment uses that. Otherwise
this renders the same information from the plan JSON: one header line per changed resource
and, when the values were parsed (``Plan``, not ``PlanOverview``), one line per top-level
attribute that changes. Lines start with ``+``, ``-`` or ``!`` so that GitHub colours them in
a ``diff`` block (the way Atlantis shows plans).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from chalicelib.plans.models import Change, PlanOverview, ResourceChangeOverview
from chalicelib.plans.summary import classify

_VALUE_WIDTH = 120  # characters of a value shown before "…"
_HEADLINES = {
    "create": ("+", "will be created"),
    "update": ("!", "will be updated in-place"),
    "replace": ("-/+", "must be replaced"),
    "delete": ("-", "will be destroyed"),
    "forget": ("-", "will be removed from the state (the object stays)"),
    "read": (" ", "will be read during apply"),
}


_OUTPUT_LINES = {
    "create": "+ output.{name} will be created",
    "update": "! output.{name} will change",
    "replace": "! output.{name} will change",
    "delete": "- output.{name} will be removed",
}


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"


def _any_true(marks: Any) -> bool:
    if isinstance(marks, dict):
        return any(_any_true(sub) for sub in marks.values())
    if isinstance(marks, list):
        return any(_any_true(sub) for sub in marks)
    return marks is True


def _flag(marks: Any, key: str) -> bool:
    """True when Terraform's sensitive/unknown marks flag ``key`` or anything inside it."""
    if marks is True:
        return True
    return isinstance(marks, dict) and _any_true(marks.get(key))


def _value(values: Any, sensitive: Any, unknown: Any, key: str) -> str:
    if _flag(sensitive, key):
        return "(sensitive value)"
    if _flag(unknown, key):
        return "(known after apply)"
    return _show(values.get(key) if isinstance(values, dict) else None)


def _attribute_lines(change: Change, action: str) -> Iterator[str]:
    before = change.before if isinstance(change.before, dict) else {}
    after = change.after if isinstance(change.after, dict) else {}
    forcing = {str(path[0]) for path in change.replace_paths if path}
    unknown = change.after_unknown if isinstance(change.after_unknown, dict) else {}
    for key in sorted(after.keys() | unknown.keys() if action != "delete" else ()):
        new = _value(after, change.after_sensitive, unknown, key)
        if action == "create":
            if after.get(key) is not None or key in unknown:
                yield f"+     {key} = {new}"
            continue
        old = _value(before, change.before_sensitive, None, key)
        if old != new:
            note = "  # forces replacement" if key in forcing else ""
            yield f"!     {key} = {old} -> {new}{note}"


def _headline(rc: ResourceChangeOverview, action: str) -> str:
    symbol, text = _HEADLINES[action]
    line = f"{symbol} {rc.address} {text}"
    if rc.previous_address:
        line += f" (moved from {rc.previous_address})"
    if rc.action_reason:
        line += f" ({rc.action_reason.replace('_', ' ')})"
    return line


def render_plan_diff(plan: PlanOverview) -> Iterator[str]:
    """Yield the lines of the diff of every resource that changes, in the plan's order."""
    for rc in plan.resource_changes:
        action = classify(rc.change.actions)
        if action == "no-op":
            continue
        yield _headline(rc, action)
        if isinstance(rc.change, Change):
            yield from _attribute_lines(rc.change, action)
    for name, output in plan.output_changes.items():
        action = classify(output.actions)
        if action in _OUTPUT_LINES:
            yield _OUTPUT_LINES[action].format(name=name)
