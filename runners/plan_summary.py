"""A minimal reducer of ``terraform show -json`` to the plan summary the PR comment shows.

The controller's ``chalicelib.plans.summarize_plan`` is the full version; the runner calls
only ``summarize_plan`` below, so switching to it is one import line.
"""

from __future__ import annotations

from typing import Any

ACTIONS = ("create", "update", "delete", "replace")


def _action(actions: list[str]) -> str | None:
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    if len(actions) == 1 and actions[0] in ACTIONS:
        return actions[0]
    return None  # no-op and read change nothing


def summarize_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """Counts and resource addresses per action.

    >>> change = {"address": "null_resource.a", "change": {"actions": ["delete", "create"]}}
    >>> summarize_plan({"resource_changes": [change]})["counts"]["replace"]
    1
    """
    resources: dict[str, list[str]] = {action: [] for action in ACTIONS}
    for change in plan.get("resource_changes") or []:
        action = _action(change.get("change", {}).get("actions", []))
        if action:
            resources[action].append(change["address"])
    counts = {action: len(addresses) for action, addresses in resources.items()}
    return {
        "terraform_version": plan.get("terraform_version"),
        "counts": counts,
        "resources": resources,
        "has_changes": any(counts.values()),
    }
