"""Infracost JSON (``breakdown``/``diff``/``output --format json`` of the CLI v0.10) → CostReport.

Only ``version: "0.2"`` is read. The models below name only the fields MaestrOps uses; the
rest of the document is ignored, so new optional fields in later v0.10 releases parse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.costs.exceptions import InfracostFormatError, UnsupportedInfracostVersionError
from chalicelib.costs.model import (
    ZERO,
    CostComponent,
    CostReport,
    Estimator,
    ProjectCost,
    ResourceCost,
    UnpricedResource,
)

SUPPORTED_VERSION = "0.2"


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class _Component(_In):
    name: str = ""
    unit: str = ""
    price: Decimal | None = None
    monthly_quantity: Decimal | None = Field(None, alias="monthlyQuantity")
    monthly_cost: Decimal | None = Field(None, alias="monthlyCost")
    usage_based: bool = Field(False, alias="usageBased")


class _Resource(_In):
    name: str
    resource_type: str = Field("", alias="resourceType")
    tags: dict[str, str] | None = None
    monthly_cost: Decimal | None = Field(None, alias="monthlyCost")
    monthly_usage_cost: Decimal | None = Field(None, alias="monthlyUsageCost")
    cost_components: list[_Component] | None = Field(None, alias="costComponents")
    subresources: list[_Resource] | None = None


class _Breakdown(_In):
    resources: list[_Resource] = Field(default_factory=list)
    total_monthly_cost: Decimal | None = Field(None, alias="totalMonthlyCost")
    total_monthly_usage_cost: Decimal | None = Field(None, alias="totalMonthlyUsageCost")


class _ProjectError(_In):
    code: int | None = None
    message: str = ""


class _ProjectMetadata(_In):
    type: str = ""
    errors: list[_ProjectError] | None = None


class _Project(_In):
    name: str = ""
    display_name: str | None = Field(None, alias="displayName")
    metadata: _ProjectMetadata = Field(default_factory=_ProjectMetadata)
    past_breakdown: _Breakdown | None = Field(None, alias="pastBreakdown")
    breakdown: _Breakdown | None = None


class _Summary(_In):
    unsupported_resource_counts: dict[str, int] | None = Field(
        None, alias="unsupportedResourceCounts"
    )


class _Root(_In):
    version: Any = None
    currency: str = "USD"
    projects: list[_Project] = Field(default_factory=list)
    total_monthly_cost: Decimal | None = Field(None, alias="totalMonthlyCost")
    past_total_monthly_cost: Decimal | None = Field(None, alias="pastTotalMonthlyCost")
    total_monthly_usage_cost: Decimal | None = Field(None, alias="totalMonthlyUsageCost")
    summary: _Summary | None = None


def parse_infracost(document: bytes | str | Mapping[str, Any]) -> CostReport:
    """Read one Infracost JSON document (bytes, text or an already decoded dict).

    Raises ``UnsupportedInfracostVersionError`` for any ``version`` but ``"0.2"`` and
    ``InfracostFormatError`` for anything that is not Infracost JSON.
    """
    root = _validate(document)
    if root.version != SUPPORTED_VERSION:
        raise UnsupportedInfracostVersionError(root.version)
    projects = tuple(_project(p) for p in root.projects)
    return CostReport(
        estimator=Estimator.INFRACOST,
        currency=root.currency,
        projects=projects,
        total_monthly_cost=root.total_monthly_cost or ZERO,
        past_total_monthly_cost=root.past_total_monthly_cost,
        total_monthly_usage_cost=root.total_monthly_usage_cost,
        unpriced=_unsupported(root.summary),
    )


def _validate(document: bytes | str | Mapping[str, Any]) -> _Root:
    try:
        if isinstance(document, Mapping):
            return _Root.model_validate(document)
        return _Root.model_validate_json(document)
    except ValidationError as exc:
        # A document of another Infracost version fails the v0.2 shape; name the version
        # rather than the first field that did not fit.
        version = _version_of(document)
        if version is not None and version != SUPPORTED_VERSION:
            raise UnsupportedInfracostVersionError(version) from exc
        raise InfracostFormatError(f"not Infracost JSON: {_first_error(exc)}") from exc


def _version_of(document: bytes | str | Mapping[str, Any]) -> object:
    if not isinstance(document, Mapping):
        try:
            document = json.loads(document)
        except ValueError:
            return None
    return document.get("version") if isinstance(document, Mapping) else None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "document"
    return f"{where}: {err['msg']}"


def _project(raw: _Project) -> ProjectCost:
    after = raw.breakdown or _Breakdown.model_validate({})
    past = raw.past_breakdown
    return ProjectCost(
        name=raw.display_name or raw.name,
        monthly_cost=after.total_monthly_cost or ZERO,
        past_monthly_cost=None if past is None else past.total_monthly_cost or ZERO,
        monthly_usage_cost=after.total_monthly_usage_cost,
        resources=_resources(after, past),
        errors=tuple(e.message for e in raw.metadata.errors or ()),
    )


def _resources(after: _Breakdown, past: _Breakdown | None) -> tuple[ResourceCost, ...]:
    """Pair each resource with its past self; a resource only in the past was deleted."""
    past_by_name = {r.name: r for r in past.resources} if past is not None else {}
    now = [_resource(r, past_by_name.get(r.name), past is not None) for r in after.resources]
    seen = {r.name for r in after.resources}
    gone = [_deleted(r) for r in past_by_name.values() if r.name not in seen]
    return tuple(now + gone)


def _resource(raw: _Resource, past: _Resource | None, has_baseline: bool) -> ResourceCost:
    components = tuple(_components(raw))
    past_cost = (past.monthly_cost or ZERO) if past is not None else ZERO
    return ResourceCost(
        address=raw.name,
        resource_type=raw.resource_type,
        monthly_cost=raw.monthly_cost,
        past_monthly_cost=past_cost if has_baseline else None,
        usage_based=_usage_based(raw, components),
        components=components,
        tags=raw.tags or {},
    )


def _deleted(raw: _Resource) -> ResourceCost:
    return ResourceCost(
        address=raw.name,
        resource_type=raw.resource_type,
        monthly_cost=ZERO,
        past_monthly_cost=raw.monthly_cost or ZERO,
        tags=raw.tags or {},
    )


def _components(raw: _Resource, prefix: str = "") -> list[CostComponent]:
    """Flatten sub-resources into components named ``root_block_device: Storage (...)``."""
    out = [
        CostComponent(
            name=prefix + c.name,
            unit=c.unit,
            price=c.price,
            monthly_quantity=c.monthly_quantity,
            monthly_cost=c.monthly_cost,
            usage_based=c.usage_based,
        )
        for c in raw.cost_components or ()
    ]
    for sub in raw.subresources or ():
        out += _components(sub, f"{prefix}{sub.name}: ")
    return out


def _usage_based(raw: _Resource, components: tuple[CostComponent, ...]) -> bool:
    # Newer outputs flag components; older ones leave a usage-priced line without a cost.
    if raw.monthly_usage_cost is not None or any(c.usage_based for c in components):
        return True
    return any(c.monthly_cost is None and c.price is not None for c in components)


def _unsupported(summary: _Summary | None) -> tuple[UnpricedResource, ...]:
    counts = (summary.unsupported_resource_counts if summary else None) or {}
    return tuple(
        UnpricedResource(
            address="",
            resource_type=rtype,
            reason="not supported by Infracost",
            count=n,
        )
        for rtype, n in sorted(counts.items())
    )
