"""The plan summary artifact: ``terraform show -json`` reduced by ``chalicelib.plans``.

The runner reaches the summary only through ``plan_summary`` below, so the reducer behind it
is swapped in one place.
"""

from __future__ import annotations

from typing import Any

from chalicelib.plans import describe_changes, parse_plan, summarize_plan


def plan_summary(show_json: bytes) -> dict[str, Any]:
    """The summary document the controller's PR comment renders (JSON-ready).

    ``description`` is the plan step's reason, e.g. ``5 to move`` or ``refresh-only: 6
    changed outside Terraform``.
    """
    summary = summarize_plan(parse_plan(show_json, values=False))
    return {
        **summary.model_dump(mode="json"),
        "has_changes": summary.has_changes,
        "description": describe_changes(summary),
    }
