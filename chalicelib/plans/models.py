"""Pydantic models of ``terraform show -json <planfile>`` (format versions 0.1 to 1.x).

Two views of the same document, so that a large plan never has to be held in memory whole:

- ``PlanOverview`` reads only addresses and actions; pydantic skips every attribute value
  while parsing, so a 10,000-resource plan costs a fraction of its size in memory.
- ``Plan`` adds the attribute values (``before``/``after``, unknown and sensitive markers)
  that the attribute-level diff needs.

Both ignore keys they do not use, which keeps them working on format versions to come; an
action list they do not know is kept as it is and shown as "unrecognised" by the summary.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from chalicelib.plans.exceptions import PlanParseError


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Importing(_Model):
    """Terraform >= 1.5: the change adopts an existing object (an ``import`` block)."""

    id: str | None = None
    unknown: bool = False


class ChangeActions(_Model):
    actions: list[str]
    importing: Importing | None = None


class Change(ChangeActions):
    before: Any = None
    after: Any = None
    after_unknown: Any = None
    before_sensitive: Any = None
    after_sensitive: Any = None
    replace_paths: list[list[str | int]] = Field(default_factory=list)


class ResourceChangeOverview(_Model):
    address: str
    module_address: str | None = None
    mode: str = "managed"
    type: str
    name: str
    provider_name: str | None = None
    previous_address: str | None = None
    action_reason: str | None = None
    deposed: str | None = None
    change: ChangeActions


class ResourceChange(ResourceChangeOverview):
    change: Change


def _fill_address(data: Any) -> Any:
    """Terraform 0.15 wrote drift entries without ``address``: build it from its parts."""
    if isinstance(data, dict) and "address" not in data and "type" in data:
        address = f"{data['type']}.{data.get('name', '')}"
        if data.get("mode") == "data":
            address = f"data.{address}"
        if "index" in data:
            address += f"[{json.dumps(data['index'])}]"
        if data.get("module_address"):
            address = f"{data['module_address']}.{address}"
        return {**data, "address": address}
    return data


class DriftOverview(ResourceChangeOverview):
    _address = model_validator(mode="before")(_fill_address)


class Drift(ResourceChange):
    _address = model_validator(mode="before")(_fill_address)


class RelevantAttribute(_Model):
    resource: str
    attribute: list[str | int] = Field(default_factory=list)


class CheckProblem(_Model):
    message: str = ""


class CheckInstance(_Model):
    address: dict[str, Any] = Field(default_factory=dict)
    status: str = "unknown"
    problems: list[CheckProblem] = Field(default_factory=list)


class CheckResult(_Model):
    """One checkable object: a ``check`` block, a resource's conditions, an output's."""

    address: dict[str, Any] = Field(default_factory=dict)
    status: str = "unknown"  # pass, fail, error, unknown
    instances: list[CheckInstance] = Field(default_factory=list)

    @property
    def display(self) -> str:
        return str(self.address.get("to_display") or self.address.get("name") or "check")


class DeferredChangeOverview(_Model):
    """Terraform >= 1.9 (experimental): a change left for a later plan, and why."""

    reason: str = "unknown"
    resource_change: ResourceChangeOverview


class OutputChange(_Model):
    actions: list[str]


class OutputChangeValues(OutputChange):
    before: Any = None
    after: Any = None
    before_sensitive: Any = None
    after_sensitive: Any = None


class PlanOverview(_Model):
    format_version: str
    terraform_version: str | None = None
    # Absent in an outputs-only plan (and in some hand-trimmed fixtures): both are optional.
    resource_changes: list[ResourceChangeOverview] = Field(default_factory=list)
    output_changes: dict[str, OutputChange] = Field(default_factory=dict)
    # Changes made outside Terraform since the last run, found by the refresh.
    resource_drift: list[DriftOverview] = Field(default_factory=list)
    relevant_attributes: list[RelevantAttribute] = Field(default_factory=list)
    deferred_changes: list[DeferredChangeOverview] = Field(default_factory=list)
    checks: list[CheckResult] = Field(default_factory=list)
    # Terraform >= 1.6: whether applying does anything, and whether the plan is partial.
    applyable: bool | None = None
    complete: bool | None = None
    errored: bool = False
    # Set by ``parse_plan``: the document has no ``resource_changes`` key at all, which is
    # how a refresh-only plan looks (a normal plan lists every resource, no-ops included).
    _no_resource_changes: bool = PrivateAttr(False)

    @property
    def refresh_only(self) -> bool:
        """A ``-refresh-only`` plan: no planned changes at all, only what the refresh found.

        The JSON has no mode field; Terraform leaves ``resource_changes`` out of a refresh-only
        plan while a normal plan lists every resource in the state, no-ops included. An empty
        configuration with an empty state looks the same, and then nothing changes either way.
        """
        return self._no_resource_changes and (bool(self.resource_drift) or self.applyable is False)


class Plan(PlanOverview):
    resource_changes: list[ResourceChange] = Field(default_factory=list)  # type: ignore[assignment]
    resource_drift: list[Drift] = Field(default_factory=list)  # type: ignore[assignment]
    output_changes: dict[str, OutputChangeValues] = Field(default_factory=dict)  # type: ignore[assignment]


def decode_plan_bytes(data: bytes) -> bytes:
    """Return UTF-8 bytes; plans written by PowerShell redirection are UTF-16 with a BOM."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise PlanParseError(f"plan JSON has a UTF-16 BOM but does not decode: {exc}") from exc
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :]
    return data


def parse_plan(data: bytes | str, *, values: bool = True) -> Plan | PlanOverview:
    """Parse ``terraform show -json`` output; ``values=False`` skips attribute values.

    Raises ``PlanParseError`` with the first problem when the input is not a plan.
    """
    raw = decode_plan_bytes(data) if isinstance(data, bytes) else data
    model: type[PlanOverview] = Plan if values else PlanOverview
    try:
        plan = model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "document"
        raise PlanParseError(f"not a Terraform plan JSON ({where}: {first['msg']})") from exc
    if not plan.resource_changes and not _has_key(raw, b"resource_changes"):
        plan._no_resource_changes = True
    return plan


def _has_key(raw: bytes | str, key: bytes) -> bool:
    data = raw.encode() if isinstance(raw, str) else raw
    return b'"' + key + b'"' in data
