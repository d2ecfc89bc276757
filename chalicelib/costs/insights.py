"""Optimization insights: concrete ways to spend less, each with its monthly saving.

Rules read the plan (the attributes the PR sets) and the price catalog, and look only at
resources the PR creates, updates or replaces, so a comment does not repeat advice about
what the PR does not touch. Each rule can be switched off under ``cost.insights`` in
``.gitops.yml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from chalicelib.costs.catalog import Catalog, RegionPrices, load_catalog
from chalicelib.costs.model import HOURS_PER_MONTH, ZERO
from chalicelib.costs.plan import ResourceChange, parse_plan
from chalicelib.costs.render import money

# Previous-generation families and their current x86 and Graviton (arm64) successors.
SUCCESSORS: dict[str, tuple[str, str]] = {
    "t2": ("t3", "t4g"),
    "m3": ("m6i", "m6g"),
    "m4": ("m6i", "m6g"),
    "c3": ("c6i", "c6g"),
    "c4": ("c6i", "c6g"),
    "r4": ("r6i", "r6g"),
}
NON_PRODUCTION = frozenset(
    {
        "dev",
        "development",
        "test",
        "testing",
        "qa",
        "staging",
        "stage",
        "sandbox",
        "nonprod",
        "non-prod",
        "non-production",
        "preview",
        "demo",
    }
)
ENV_TAG_KEYS = ("env", "environment", "stage", "tier")
# Resources that can hold an Elastic IP through an expression (allocation_id, ...).
EIP_HOLDERS = frozenset({"aws_nat_gateway", "aws_eip_association", "aws_lb"})
ANY_EIP = "*"
_INDEX = re.compile(r"\[[^\]]*\]")  # count/for_each keys: [0], ["a.b"]
GP2_IOPS_PER_GB = 3
GP3_FREE_IOPS = 3000


class InsightsConfig(BaseModel):
    """Which rules run (``cost.insights`` in ``.gitops.yml``); every rule is on by default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gp2_to_gp3: bool = True
    previous_generation: bool = True
    unattached_eip: bool = True
    oversized_non_production: bool = True
    non_production_max_vcpu: int = 4  # larger instances in non-production are flagged


class Insight(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: str
    address: str
    message: str
    monthly_saving: Decimal


class CostInsights(BaseModel):
    """The insights of one plan as the cost step stores them (the ``cost_insights`` artifact).

    The runner stores data; the controller renders it into the plan comment, so the wording
    is the controller's and a run recorded before a wording change shows the new one.
    """

    model_config = ConfigDict(frozen=True)

    insights: tuple[Insight, ...] = ()


def find_insights(
    plan: Mapping[str, Any],
    config: InsightsConfig | None = None,
    *,
    catalog: Catalog | None = None,
    default_region: str = "us-east-1",
) -> list[Insight]:
    """Suggestions for a decoded plan JSON, largest saving first."""
    config = config or InsightsConfig()
    catalog = catalog or load_catalog()
    parsed = parse_plan(plan)
    prices = catalog.region(parsed.aws_region() or default_region)
    if prices is None:
        return []
    touched = [
        rc
        for rc in parsed.resource_changes
        if rc.mode == "managed"
        and rc.action in ("create", "update", "replace")
        and rc.change.after is not None
    ]
    found: list[Insight] = []
    if config.gp2_to_gp3:
        found += _gp2_to_gp3(touched, prices)
    if config.previous_generation:
        found += _previous_generation(touched, prices, catalog, _ami_architectures(plan))
    if config.unattached_eip:
        found += _unattached_eips(touched, prices, _referenced(plan))
    if config.oversized_non_production:
        found += _oversized(touched, prices, catalog, config.non_production_max_vcpu)
    return sorted(found, key=lambda i: (-i.monthly_saving, i.address, i.rule))


# --- gp2 → gp3 -------------------------------------------------------------------------------


def _gp2_to_gp3(changes: list[ResourceChange], prices: RegionPrices) -> Iterator[Insight]:
    for rc in changes:
        for label, size in _gp2_volumes(rc):
            saving = _gp3_saving(prices, size)
            if saving > 0:
                what = f"{label} " if label else ""
                yield Insight(
                    rule="gp2_to_gp3",
                    address=rc.address,
                    message=f"switch the {what}gp2 volume ({size} GB) to gp3, same or better IOPS",
                    monthly_saving=saving,
                )


def _gp2_volumes(rc: ResourceChange) -> Iterator[tuple[str, Decimal]]:
    after = rc.change.after or {}
    if rc.type == "aws_ebs_volume" and after.get("type") == "gp2" and after.get("size"):
        yield "", Decimal(str(after["size"]))
    if rc.type == "aws_instance":
        for key in ("root_block_device", "ebs_block_device"):
            for dev in after.get(key) or ():
                if isinstance(dev, Mapping) and dev.get("volume_type") == "gp2":
                    size = dev.get("volume_size")
                    if size:
                        yield key, Decimal(str(size))


def _gp3_saving(prices: RegionPrices, size: Decimal) -> Decimal:
    """gp2 storage minus gp3 storage plus the IOPS gp3 must buy to match gp2's 3 IOPS/GB."""
    gp2, gp3 = prices.ebs.get("gp2", {}), prices.ebs.get("gp3", {})
    if "storage" not in gp2 or "storage" not in gp3:
        return ZERO
    extra_iops = max(size * GP2_IOPS_PER_GB - GP3_FREE_IOPS, ZERO)
    gp3_cost = size * gp3["storage"] + extra_iops * gp3.get("iops", ZERO)
    return size * gp2["storage"] - gp3_cost


# --- previous generation → current / Graviton ------------------------------------------------


def _previous_generation(
    changes: list[ResourceChange], prices: RegionPrices, catalog: Catalog, arch_of: dict[str, str]
) -> Iterator[Insight]:
    for rc in changes:
        after = rc.change.after or {}
        itype = after.get("instance_type")
        if rc.type != "aws_instance" or not isinstance(itype, str) or "." not in itype:
            continue
        family, size = itype.split(".", 1)
        if family not in SUCCESSORS or itype not in prices.ec2:
            continue
        arch = arch_of.get(str(after.get("ami")))
        insight = _successor(rc.address, itype, family, size, prices, arch)
        if insight is not None:
            yield insight


def _successor(
    address: str, itype: str, family: str, size: str, prices: RegionPrices, arch: str | None
) -> Insight | None:
    x86, graviton = (f"{f}.{size}" for f in SUCCESSORS[family])
    now = prices.ec2[itype]
    # Graviton only when the plan shows an arm64 AMI; otherwise the x86 successor, with the
    # Graviton saving named as the next step (it needs an arm64 build of the AMI).
    target = graviton if arch == "arm64" else x86
    if target not in prices.ec2 or prices.ec2[target] >= now:
        return None
    saving = (now - prices.ec2[target]) * HOURS_PER_MONTH
    message = f"{itype} is an older generation; {target} costs less"
    if target == x86 and graviton in prices.ec2 and arch is None:
        more = (now - prices.ec2[graviton]) * HOURS_PER_MONTH
        message += f"; Graviton {graviton} would save {money(more)} a month with an arm64 AMI"
    return Insight(
        rule="previous_generation", address=address, message=message, monthly_saving=saving
    )


def _ami_architectures(plan: Mapping[str, Any]) -> dict[str, str]:
    """AMI id → architecture, from ``aws_ami`` data sources the plan read."""
    out: dict[str, str] = {}
    for key in ("prior_state", "planned_values"):
        root = (plan.get(key) or {}).get("values", plan.get(key) or {}).get("root_module") or {}
        for res in _state_resources(root):
            values = res.get("values") or {}
            if res.get("type") == "aws_ami" and values.get("id") and values.get("architecture"):
                out[values["id"]] = "arm64" if values["architecture"] == "arm64" else "x86_64"
    return out


def _state_resources(module: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from module.get("resources") or ()
    for child in module.get("child_modules") or ():
        yield from _state_resources(child)


# --- unattached Elastic IPs ------------------------------------------------------------------


def _unattached_eips(
    changes: list[ResourceChange], prices: RegionPrices, referenced: set[str]
) -> Iterator[Insight]:
    hourly = prices.price("eip_hour")
    if hourly is None:
        return
    for rc in changes:
        after = rc.change.after or {}
        if rc.type != "aws_eip" or after.get("instance") or after.get("network_interface"):
            continue
        name = _config_address(rc.address)
        module = name.rsplit("aws_eip.", 1)[0]
        if name in referenced or module + ANY_EIP in referenced:
            continue
        yield Insight(
            rule="unattached_eip",
            address=rc.address,
            message="Elastic IP attached to nothing in this configuration; release it",
            monthly_saving=hourly * HOURS_PER_MONTH,
        )


def _config_address(address: str) -> str:
    """``module.vpc[0].aws_eip.nat["a"]`` → ``module.vpc.aws_eip.nat`` (configuration name)."""
    return _INDEX.sub("", address)


def _referenced(plan: Mapping[str, Any]) -> set[str]:
    """Every ``aws_eip`` address that an attachment in the configuration points at.

    An EIP whose own block sets ``instance`` or ``network_interface``, or that another
    resource (a NAT gateway, an ``aws_eip_association``) references, is in use.
    """
    root = (plan.get("configuration") or {}).get("root_module") or {}
    found: set[str] = set()
    _walk_module(root, "", found)
    return found


def _walk_module(module: Mapping[str, Any], prefix: str, found: set[str]) -> None:
    for res in module.get("resources") or ():
        expressions = res.get("expressions") or {}
        if res.get("type") == "aws_eip" and (
            "instance" in expressions or "network_interface" in expressions
        ):
            found.add(prefix + str(res.get("address", "")))
        refs = list(_references(expressions))
        if res.get("type") in EIP_HOLDERS and any(_indirect(r) for r in refs):
            # Through a local, variable or module output: any EIP of the module may be held.
            found.add(prefix + ANY_EIP)
        for ref in refs:
            if ref.startswith("aws_eip."):
                # 'aws_eip.nat["a.b"].id' → "aws_eip.nat"
                found.add(prefix + ".".join(_config_address(ref).split(".")[:2]))
    for name, call in (module.get("module_calls") or {}).items():
        _walk_module(call.get("module") or {}, f"{prefix}module.{name}.", found)


def _indirect(ref: str) -> bool:
    return ref.startswith(("local.", "var.", "module."))


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "references" and isinstance(value, list):
                yield from (v for v in value if isinstance(v, str))
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


# --- oversized non-production instances ------------------------------------------------------


def _oversized(
    changes: list[ResourceChange], prices: RegionPrices, catalog: Catalog, max_vcpu: int
) -> Iterator[Insight]:
    for rc in changes:
        after = rc.change.after or {}
        itype = after.get("instance_type")
        if rc.type != "aws_instance" or not isinstance(itype, str) or itype not in prices.ec2:
            continue
        env = _environment(after)
        info = catalog.instance_types.get(itype)
        if env is None or info is None or info.vcpu <= max_vcpu:
            continue
        smaller = _largest_within(itype, max_vcpu, prices, catalog)
        if smaller is None:
            continue
        saving = (prices.ec2[itype] - prices.ec2[smaller]) * HOURS_PER_MONTH
        yield Insight(
            rule="oversized_non_production",
            address=rc.address,
            message=f"{itype} ({info.vcpu} vCPU) in {env}; {smaller} is likely enough",
            monthly_saving=saving,
        )


def _environment(attrs: Mapping[str, Any]) -> str | None:
    tags = attrs.get("tags") or attrs.get("tags_all") or {}
    if not isinstance(tags, Mapping):
        return None
    for key, value in tags.items():
        if key.lower() in ENV_TAG_KEYS and str(value).lower() in NON_PRODUCTION:
            return f"{key}={value}"
    return None


def _largest_within(
    itype: str, max_vcpu: int, prices: RegionPrices, catalog: Catalog
) -> str | None:
    """The biggest size of the same family that fits ``max_vcpu``."""
    family = itype.split(".", 1)[0] + "."
    fits = [
        (info.vcpu, info.memory_gib, name)
        for name, info in catalog.instance_types.items()
        if name.startswith(family) and info.vcpu <= max_vcpu and name in prices.ec2
    ]
    return max(fits)[2] if fits else None
