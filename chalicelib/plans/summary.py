"""Plan summary: counts and resources per action, the data the comment and status show.

Every resource change lands in exactly one group. The group is Terraform's action, except
that a no-op which only adopts an object (``import`` block) is an ``import`` and a no-op which
only changes address (``moved`` block) is a ``move``: both are changes Terraform plans and
applies (it exits 2 for them) even though no infrastructure changes. An action list this
code does not know (a newer Terraform) is ``unrecognised``, never an error.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.plans.models import Change, PlanOverview, ResourceChangeOverview

Action = Literal[
    "create",
    "update",
    "replace",
    "delete",
    "import",
    "move",
    "forget",
    "read",
    "unrecognised",
    "no-op",
]
# The order in which the comment lists groups: what changes most first, reads and no-ops last.
ACTIONS: tuple[Action, ...] = get_args(Action)
# Groups that change something Terraform will apply.
CHANGING: tuple[Action, ...] = (
    "create",
    "update",
    "replace",
    "delete",
    "import",
    "move",
    "forget",
    "unrecognised",
)

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
    actions: tuple[str, ...] = ()  # Terraform's own list, e.g. ("create", "delete")
    reason: str | None = None  # Terraform's action_reason, e.g. "replace_because_tainted"
    previous_address: str | None = None  # set when a `moved` block renamed the resource
    import_id: str | None = None  # set when an `import` block adopts the object
    importing: bool = False  # an import whose id is only known at apply is still an import
    deferred_reason: str | None = None

    @property
    def create_before_destroy(self) -> bool:
        return self.actions == ("create", "delete")


class CheckFailure(BaseModel):
    """A ``check`` block (or a condition) whose assertion failed: a warning, not an error."""

    model_config = ConfigDict(frozen=True)

    address: str
    status: str  # "fail" or "error"
    messages: tuple[str, ...] = ()


class PlanSummary(BaseModel):
    """What a plan does, counted per action; ``resources`` keeps Terraform's order."""

    model_config = ConfigDict(frozen=True)

    terraform_version: str | None = None
    format_version: str
    counts: dict[Action, int]
    resources: dict[Action, list[ResourceEntry]]
    outputs_changed: int = 0
    errored: bool = False
    # Across every group: an import or a move may also update the object.
    imports: int = 0
    moves: int = 0
    drift: list[ResourceEntry] = Field(default_factory=list)
    refresh_only: bool = False
    applyable: bool | None = None
    complete: bool | None = None
    failed_checks: list[CheckFailure] = Field(default_factory=list)
    deferred: list[ResourceEntry] = Field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        """Whether applying this plan changes anything: infrastructure, state or outputs."""
        if self.refresh_only:
            return bool(self.drift)
        return any(self.counts.get(a, 0) for a in CHANGING) or self.outputs_changed > 0

    @property
    def newer_format(self) -> bool:
        """A format version above 1.x: Terraform promises compatibility only within a major."""
        major = self.format_version.split(".", 1)[0]
        return not major.isdigit() or int(major) > 1

    def count(self, action: Action) -> int:
        return self.counts.get(action, 0)


def classify(actions: list[str] | tuple[str, ...]) -> Action:
    """Map Terraform's action list to one action, e.g. ``["delete", "create"]`` → replace.

    A list this code does not know is ``unrecognised``.
    """
    return _BY_ACTIONS.get(tuple(actions), "unrecognised")


def group_of(rc: ResourceChangeOverview) -> Action:
    """The comment group of a resource change: its action, or import/move for such no-ops."""
    action = classify(rc.change.actions)
    if action != "no-op":
        return action
    if rc.change.importing is not None:
        return "import"
    if rc.previous_address and rc.previous_address != rc.address:
        return "move"
    return "no-op"


def _entry(rc: ResourceChangeOverview) -> dict[str, object]:
    importing = rc.change.importing
    moved = rc.previous_address if rc.previous_address != rc.address else None
    return {
        "address": rc.address,
        "type": rc.type,
        "mode": rc.mode,
        "actions": rc.change.actions,
        "reason": rc.action_reason,
        "previous_address": moved,
        "import_id": importing.id if importing is not None else None,
        "importing": importing is not None,
    }


def _blank(value: object) -> bool:
    return value is None or value == {} or value == []


def _normalised(value: object) -> object:
    """Null and empty collections alike, at any depth: providers read one back as the other."""
    if isinstance(value, dict):
        return {k: _normalised(v) for k, v in value.items() if not _blank(v)}
    if isinstance(value, list):
        return [_normalised(v) for v in value]
    return value


def drifted(rc: ResourceChangeOverview) -> bool:
    """Whether a ``resource_drift`` entry is a change a reader would call one.

    Terraform hides the rest too: a provider reading back ``{}`` where the state had ``null``.
    Without the values (``PlanOverview``) every non-no-op entry counts.
    """
    if classify(rc.change.actions) == "no-op":
        return False
    change = rc.change
    if isinstance(change, Change) and change.actions == ["update"]:
        return _normalised(change.before) != _normalised(change.after) or _normalised(
            change.before_sensitive
        ) != _normalised(change.after_sensitive)
    return True


def _failed_checks(plan: PlanOverview) -> list[dict[str, object]]:
    failed: list[dict[str, object]] = []
    for check in plan.checks:
        if check.status not in ("fail", "error"):
            continue
        messages = [p.message for i in check.instances for p in i.problems if p.message]
        failed.append({"address": check.display, "status": check.status, "messages": messages})
    return failed


def summarize_plan(plan: PlanOverview) -> PlanSummary:
    """Count ``plan.resource_changes`` per group and list the resources of each group."""
    resources: dict[Action, list[dict[str, object]]] = {a: [] for a in ACTIONS}
    imports = moves = 0
    for rc in plan.resource_changes:
        entry = _entry(rc)
        imports += bool(entry["importing"])
        moves += entry["previous_address"] is not None
        resources[group_of(rc)].append(entry)
    outputs = sum(1 for oc in plan.output_changes.values() if oc.actions != ["no-op"])
    drift = [_entry(rc) for rc in plan.resource_drift if drifted(rc)]
    deferred = [
        {**_entry(d.resource_change), "deferred_reason": d.reason} for d in plan.deferred_changes
    ]
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
            "imports": imports,
            "moves": moves,
            "drift": drift,
            "refresh_only": plan.refresh_only,
            "applyable": plan.applyable,
            "complete": plan.complete,
            "failed_checks": _failed_checks(plan),
            "deferred": deferred,
        }
    )


def describe_changes(summary: PlanSummary) -> str:
    """A few words for a log line or a step reason, e.g. ``1 to create, 5 to move``.

    >>> describe_changes(summarize_plan(PlanOverview(format_version="1.2")))
    'no changes'
    """
    if summary.refresh_only:
        return f"refresh-only: {len(summary.drift)} changed outside Terraform"
    counts = {a: n for a, n in summary.counts.items() if n and a in CHANGING}
    counts.pop("import", None)
    counts.pop("move", None)
    words = [f"{n} to {a}" for a, n in counts.items()]
    words += [f"{n} to {a}" for a, n in (("import", summary.imports), ("move", summary.moves)) if n]
    if summary.outputs_changed and not words:  # like Terraform's Plan line: outputs apart
        words.append(f"{summary.outputs_changed} output(s) to change")
    return ", ".join(words) or "no changes"


__all__ = [
    "ACTIONS",
    "CHANGING",
    "Action",
    "CheckFailure",
    "PlanSummary",
    "ResourceEntry",
    "classify",
    "describe_changes",
    "drifted",
    "group_of",
    "summarize_plan",
]
