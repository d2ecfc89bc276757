"""Plan summary: counts and resources per action, the data the comment and status show."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from chalicelib.plans.exceptions import UnknownActionsError
from chalicelib.plans.models import PlanOverview, ResourceChangeOverview

Action = Literal["create", "update", "delete", "replace", "read", "forget", "no-op"]
# The order in which the comment lists groups: what changes most first, reads and no-ops last.
ACTIONS: tuple[Action, ...] = ("create", "update", "replace", "delete", "forget", "read", "no-op")

_BY_ACTIONS: dict[tuple[str, ...], Action] = {
    ("create",): "create",
    ("update",): "update",
    ("delete",): "delete",
    ("delete", "create"): "replace",  # destroy first, the default
    ("create", "delete"): "replace",  # create_before_destroy
    ("read",): "read",
    ("forget",): "forget",  # Terraform 1.7 `removed` block: leaves the object, drops the state
    ("no-op",): "no-op",
}


class ResourceEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    address: str
    type: str
    mode: str = "managed"
    reason: str | None = None  # Terraform's action_reason, e.g. "replace_because_tainted"
    previous_address: str | None = None  # set when a `moved` block renamed the resource


class PlanSummary(BaseModel):
    """What a plan does, counted per action; ``resources`` keeps Terraform's order."""

    model_config = ConfigDict(frozen=True)

    terraform_version: str | None = None
    format_version: str
    counts: dict[Action, int]
    resources: dict[Action, list[ResourceEntry]]
    outputs_changed: int = 0
    errored: bool = False

    @property
    def has_changes(self) -> bool:
        changed: tuple[Action, ...] = ("create", "update", "delete", "replace", "forget")
        return any(self.counts[a] for a in changed) or self.outputs_changed > 0

    def count(self, action: Action) -> int:
        return self.counts[action]


def classify(actions: list[str]) -> Action:
    """Map Terraform's action list to one action, e.g. ``["delete", "create"]`` → replace."""
    try:
        return _BY_ACTIONS[tuple(actions)]
    except KeyError:
        raise UnknownActionsError(f"unknown plan actions {actions!r}") from None


def _entry(rc: ResourceChangeOverview) -> dict[str, str | None]:
    return {
        "address": rc.address,
        "type": rc.type,
        "mode": rc.mode,
        "reason": rc.action_reason,
        "previous_address": rc.previous_address,
    }


def summarize_plan(plan: PlanOverview) -> PlanSummary:
    """Count ``plan.resource_changes`` per action and list the resources of each action."""
    resources: dict[Action, list[dict[str, str | None]]] = {a: [] for a in ACTIONS}
    for rc in plan.resource_changes:
        resources[classify(rc.change.actions)].append(_entry(rc))
    outputs = sum(1 for oc in plan.output_changes.values() if oc.actions != ["no-op"])
    # One validation of plain dicts: pydantic-core builds the 10,000 entries of a large plan
    # faster than constructing them one by one in Python.
    return PlanSummary.model_validate(
        {
            "terraform_version": plan.terraform_version,
            "format_version": plan.format_version,
            "counts": {a: len(resources[a]) for a in ACTIONS},
            "resources": resources,
            "outputs_changed": outputs,
            "errored": plan.errored,
        }
    )


__all__ = ["ACTIONS", "Action", "PlanSummary", "ResourceEntry", "classify", "summarize_plan"]
