"""The few parts of ``terraform show -json`` the built-in estimator reads.

The models stay small on purpose: a 10,000-resource plan must validate quickly, and
attributes (``before``/``after``) stay plain dicts that each pricer reads by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.costs.exceptions import PlanFormatError


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ResourceDiff(_In):
    """What the plan does to one resource: the part of Terraform's ``change`` that is priced."""

    actions: tuple[str, ...] = ()
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    importing: dict[str, Any] | None = None  # Terraform >= 1.5: an `import` block adopts it


class ResourceChange(_In):
    address: str
    mode: str = "managed"
    type: str
    provider_name: str = ""
    change: ResourceDiff

    previous_address: str | None = None  # a `moved` block renamed it

    @property
    def action(self) -> str:
        """One word for the actions list: create, delete, update, replace, forget, no-op, read."""
        actions = self.change.actions
        if len(actions) == 2:
            return "replace"
        return actions[0] if actions else "no-op"

    @property
    def importing(self) -> bool:
        return self.change.importing is not None


class ProviderConfig(_In):
    name: str = ""
    alias: str | None = None
    module_address: str | None = None
    expressions: dict[str, Any] = Field(default_factory=dict)

    @property
    def region(self) -> str | None:
        expr = self.expressions.get("region")
        value = expr.get("constant_value") if isinstance(expr, Mapping) else None
        return value if isinstance(value, str) else None


class Configuration(_In):
    provider_config: dict[str, ProviderConfig] = Field(default_factory=dict)


class Plan(_In):
    format_version: str = ""
    resource_changes: tuple[ResourceChange, ...] = ()
    configuration: Configuration = Field(default_factory=Configuration)

    def aws_region(self) -> str | None:
        """The region of the root module's default ``aws`` provider, if written as a constant.

        A region from a variable is not in the plan's configuration (only its expression is),
        so the caller's default applies then.
        """
        providers = self.configuration.provider_config.values()
        aws = [p for p in providers if p.name == "aws" and not p.module_address]
        for provider in sorted(aws, key=lambda p: p.alias is not None):
            if provider.region:
                return provider.region
        return None


def parse_plan(plan: Mapping[str, Any]) -> Plan:
    """Validate the parts of a decoded plan JSON that pricing needs."""
    if not isinstance(plan, Mapping):
        raise PlanFormatError("a Terraform plan must be a JSON object")
    try:
        return Plan.model_validate(plan)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise PlanFormatError(f"not a Terraform plan JSON: {where}: {err['msg']}") from exc
