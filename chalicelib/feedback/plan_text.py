"""The plan in a diff-like text, for the collapsible "full plan" block of the comment.

When the runner stored ``terraform show -no-color`` output, the comment uses that. Otherwise
this renders the same information from the plan JSON: one header line per changed resource
and, when the values were parsed (``Plan``, not ``PlanOverview``), one line per top-level
attribute that changes. Lines start with ``+``, ``-`` or ``!`` so that GitHub colours them in
a ``diff`` block (the way Atlantis shows plans).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from chalicelib.plans.models import Change, PlanOverview, ResourceChangeOverview
from chalicelib.plans.summary import classify, drifted, group_of

_VALUE_WIDTH = 120  # characters of a value shown before "…"
SENSITIVE = "(sensitive value)"
_HEADLINES = {
    "create": ("+", "will be created"),
    "update": ("!", "will be updated in-place"),
    "replace": ("-/+", "must be replaced"),
    "delete": ("-", "will be destroyed"),
    # Terraform marks a forget with "." and no colour: nothing is destroyed.
    "forget": (".", "will no longer be managed by Terraform, but will not be destroyed"),
    "import": (" ", "will be imported"),
    "read": (" ", "will be read during apply"),
}
# A headline line of ``render_plan_diff``: symbol, then an address, then what happens.
HEADLINE_RE = re.compile(r"^(?:[-+!.?~ ]|[-+]/[-+]) \S+ (?:will|must|has|changed) ")


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


def _sensitive_change(change: Change, key: str) -> bool:
    """Whether a value shown as ``(sensitive value)`` on both sides changes underneath.

    Terraform prints ``~ key = (sensitive value)`` then: the reviewer must see that it changes.
    """
    before = change.before if isinstance(change.before, dict) else {}
    after = change.after if isinstance(change.after, dict) else {}
    was = _flag(change.before_sensitive, key)
    now = _flag(change.after_sensitive, key)
    return was != now or before.get(key) != after.get(key)


def _attribute_lines(change: Change, action: str) -> Iterator[str]:
    before = change.before if isinstance(change.before, dict) else {}
    after = change.after if isinstance(change.after, dict) else {}
    forcing = {str(path[0]) for path in change.replace_paths if path}
    unknown = change.after_unknown if isinstance(change.after_unknown, dict) else {}
    for key in sorted(after.keys() | unknown.keys() if action not in ("delete", "forget") else ()):
        new = _value(after, change.after_sensitive, unknown, key)
        if action == "create":
            if after.get(key) is not None or key in unknown:
                yield f"+     {key} = {new}"
            continue
        old = _value(before, change.before_sensitive, None, key)
        note = "  # forces replacement" if key in forcing else ""
        if old == new == SENSITIVE:
            if _sensitive_change(change, key):
                yield f"!     {key} = {SENSITIVE}{note}"
        elif old != new:
            yield f"!     {key} = {old} -> {new}{note}"


def _notes(rc: ResourceChangeOverview, group: str) -> str:
    notes = []
    if rc.previous_address and rc.previous_address != rc.address and group != "move":
        notes.append(f"moved from {rc.previous_address}")
    importing = rc.change.importing
    if importing is not None and group != "import":
        notes.append(f"imported from id {importing.id}" if importing.id else "imported")
    if rc.action_reason and group != "forget":  # "delete because no resource config" misleads
        notes.append(rc.action_reason.replace("_", " "))
    return "".join(f" ({note})" for note in notes)


def headline(rc: ResourceChangeOverview, group: str) -> str:
    """The first line of a resource's diff, with Terraform's symbol for its action."""
    if group == "move":
        return f"  {rc.address} has moved from {rc.previous_address}"
    if group == "unrecognised":
        return f"? {rc.address} has actions this version does not recognise: {rc.change.actions}"
    symbol, text = _HEADLINES[group]
    if group == "replace" and tuple(rc.change.actions) == ("create", "delete"):
        symbol = "+/-"  # create_before_destroy: the new object exists before the old goes
    if group == "import" and rc.change.importing is not None and rc.change.importing.id:
        text += f" from id {rc.change.importing.id}"
    return f"{symbol} {rc.address} {text}{_notes(rc, group)}"


def render_plan_diff(plan: PlanOverview) -> Iterator[str]:
    """Yield the lines of the diff of every resource that changes, in the plan's order."""
    for rc in plan.resource_changes:
        group = group_of(rc)
        if group == "no-op":
            continue
        yield headline(rc, group)
        if isinstance(rc.change, Change) and group not in ("move", "import", "unrecognised"):
            yield from _attribute_lines(rc.change, group)
    for name, output in plan.output_changes.items():
        action = classify(output.actions)
        if action in _OUTPUT_LINES:
            yield _OUTPUT_LINES[action].format(name=name)
        elif action == "unrecognised":
            yield f"? output.{name} has actions this version does not recognise: {output.actions}"


def _blank(value: Any) -> bool:
    return value is None or value == {} or value == []


def _drift_lines(change: Change) -> Iterator[str]:
    # A provider that reads back ``{}`` where the state had ``null`` is no change to a reader.
    before = change.before if isinstance(change.before, dict) else {}
    after = change.after if isinstance(change.after, dict) else {}
    for line in _attribute_lines(change, "update"):
        key = line.split("=", 1)[0].strip(" !")
        if not (_blank(before.get(key)) and _blank(after.get(key))):
            yield line


def render_drift_diff(plan: PlanOverview) -> Iterator[str]:
    """Yield the lines of what changed outside Terraform (``resource_drift``).

    Drift that Terraform names in ``relevant_attributes`` is marked: it may explain the plan.
    """
    relevant = {attr.resource for attr in plan.relevant_attributes}
    for rc in plan.resource_drift:
        action = classify(rc.change.actions)
        if not drifted(rc):
            continue
        note = " (this may explain the plan)" if rc.address in relevant else ""
        if action == "delete":
            yield f"- {rc.address} has been deleted{note}"
            continue
        yield f"! {rc.address} has changed{note}"
        if isinstance(rc.change, Change) and action == "update":
            yield from _drift_lines(rc.change)
