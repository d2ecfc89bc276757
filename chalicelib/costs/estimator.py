"""The built-in estimator: Terraform plan JSON + the price catalog → CostReport.

Used when Infracost cannot run (no binary, no ``INFRACOST_API_KEY``). It prices each managed
resource before and after the change, so the report has a baseline just like ``infracost
diff``: the cost of what exists today (``before``) against what the plan leaves (``after``).

What exists today is what the bill already carries, managed or not. So a forgotten resource
(``removed`` with ``destroy = false``) costs after the plan what it cost before: it leaves
Terraform, not the bill. An imported resource already runs: its cost before the plan is its
imported state, never zero. A move changes an address, not a price.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from chalicelib.costs.catalog import Catalog, RegionPrices, load_catalog
from chalicelib.costs.model import (
    ZERO,
    CostComponent,
    CostReport,
    Estimator,
    ProjectCost,
    ResourceCost,
    UnpricedResource,
)
from chalicelib.costs.plan import ResourceChange, parse_plan
from chalicelib.costs.pricers import PRICERS, Pricer, Unpriceable, is_free

DEFAULT_REGION = "us-east-1"
# Global services: priced the same everywhere, so a region outside the catalog does not matter.
GLOBAL_TYPES = frozenset({"aws_route53_zone"})


def estimate_plan(
    plan: Mapping[str, Any],
    *,
    catalog: Catalog | None = None,
    default_region: str = DEFAULT_REGION,
    project_name: str = ".",
    usage: Mapping[str, Mapping[str, Any]] | None = None,
) -> CostReport:
    """Estimate the monthly cost of a decoded ``terraform show -json`` plan.

    The region is the root ``aws`` provider's constant ``region``, else ``default_region``.
    Resources that cannot be priced are listed in ``CostReport.unpriced`` with the reason.
    ``usage`` is the ``resource_usage`` map of an Infracost usage file (address → values such
    as ``monthly_requests``); without it usage-based lines are listed with no cost.
    """
    catalog = catalog or load_catalog()
    parsed = parse_plan(plan)
    region = parsed.aws_region() or default_region
    resources: list[ResourceCost] = []
    unpriced: list[UnpricedResource] = []
    for rc in parsed.resource_changes:
        if rc.mode != "managed" or is_free(rc.type):
            continue
        priced = _price_change(rc, catalog, region, _usage_for(usage, rc.address))
        if isinstance(priced, UnpricedResource):
            unpriced.append(priced)
        else:
            resources.append(priced)
    return _report(catalog, region, project_name, resources, unpriced)


def _report(
    catalog: Catalog,
    region: str,
    project_name: str,
    resources: list[ResourceCost],
    unpriced: list[UnpricedResource],
) -> CostReport:
    total = sum((r.monthly_cost or ZERO for r in resources), ZERO)
    past = sum((r.past_monthly_cost or ZERO for r in resources), ZERO)
    project = ProjectCost(
        name=project_name, monthly_cost=total, past_monthly_cost=past, resources=tuple(resources)
    )
    return CostReport(
        estimator=Estimator.BUILTIN,
        currency=catalog.currency,
        projects=(project,),
        total_monthly_cost=total,
        past_total_monthly_cost=past,
        unpriced=tuple(unpriced),
        catalog_date=catalog.date,
        catalog_version=catalog.version,
        region=region,
    )


def _usage_for(usage: Mapping[str, Mapping[str, Any]] | None, address: str) -> Mapping[str, Any]:
    if not usage:
        return {}
    # Infracost usage files may name all instances of a resource with a wildcard: "aws_x.y[*]".
    own = usage.get(address)
    if own is None and "[" in address:
        own = usage.get(address.split("[", 1)[0] + "[*]")
    return own if isinstance(own, Mapping) else {}


def _price_change(
    rc: ResourceChange, catalog: Catalog, region: str, usage: Mapping[str, Any]
) -> ResourceCost | UnpricedResource:
    pricer = PRICERS.get(rc.type)
    if pricer is None:
        reason = "no built-in price for this resource type"
        return UnpricedResource(
            address=rc.address, resource_type=rc.type, reason=reason, action=rc.action
        )
    action = rc.action
    try:
        if rc.type in GLOBAL_TYPES and catalog.region(region) is None:
            region = DEFAULT_REGION
        before_attrs, after_attrs = _billed_attrs(rc)
        after = _cost(pricer, after_attrs, catalog, region, usage)
        before = _cost(pricer, before_attrs, catalog, region, usage)
    except Unpriceable as exc:
        return UnpricedResource(
            address=rc.address, resource_type=rc.type, reason=str(exc), action=action
        )
    # A deleted resource shows what it cost, so a deleted usage-priced one is still marked.
    components = after if after is not None else before or []
    attrs = after_attrs if after_attrs is not None else before_attrs or {}
    return ResourceCost(
        address=rc.address,
        resource_type=rc.type,
        monthly_cost=_sum(after),
        past_monthly_cost=_sum(before),
        usage_based=any(c.usage_based for c in components),
        components=tuple(components),
        tags=_tags(attrs),
        action=action,
    )


def _billed_attrs(
    rc: ResourceChange,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The attributes billed before and after the plan (None: nothing billed)."""
    action, change = rc.action, rc.change
    if action == "forget":  # still running, still billed: only Terraform lets go of it
        return change.before, change.before
    before = change.before if action != "create" else None
    after = change.after if action != "delete" else None
    if rc.importing and before is None:  # an import whose state Terraform reads at apply
        before = after
    return before, after


def _cost(
    pricer: Pricer,
    attrs: Mapping[str, Any] | None,
    catalog: Catalog,
    region: str,
    usage: Mapping[str, Any],
) -> list[CostComponent] | None:
    if attrs is None:
        return None
    # AWS provider v6 puts a region on each resource; it wins over the provider's.
    own = attrs.get("region")
    prices = _region(catalog, own if isinstance(own, str) and own else region)
    return pricer(attrs, prices, usage)


def _region(catalog: Catalog, region: str) -> RegionPrices:
    prices = catalog.region(region)
    if prices is None:
        raise Unpriceable(f"region {region} is not in the price catalog")
    return prices


def _sum(components: list[CostComponent] | None) -> Decimal:
    if components is None:
        return ZERO
    return sum((c.monthly_cost or ZERO for c in components), ZERO)


def _tags(attrs: Mapping[str, Any]) -> dict[str, str]:
    tags = attrs.get("tags_all") or attrs.get("tags") or {}
    if not isinstance(tags, Mapping):
        return {}
    return {str(k): str(v) for k, v in tags.items() if v is not None}
