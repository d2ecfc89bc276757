"""Pydantic models of ``terraform show -json <planfile>`` (format versions 0.1 to 1.2).

Two views of the same document, so that a large plan never has to be held in memory whole:

- ``PlanOverview`` reads only addresses and actions; pydantic skips every attribute value
  while parsing, so a 10,000-resource plan costs a fraction of its size in memory.
- ``Plan`` adds the attribute values (``before``/``after``, unknown and sensitive markers)
  that the attribute-level diff needs.

Both ignore keys they do not use, which keeps them working on format versions to come.
"""

from __future__ import annotations

import codecs
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.plans.exceptions import PlanParseError


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ChangeActions(_Model):
    actions: list[str]


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
    change: ChangeActions


class ResourceChange(ResourceChangeOverview):
    change: Change


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
    errored: bool = False


class Plan(PlanOverview):
    resource_changes: list[ResourceChange] = Field(default_factory=list)  # type: ignore[assignment]
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
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "document"
        raise PlanParseError(f"not a Terraform plan JSON ({where}: {first['msg']})") from exc
