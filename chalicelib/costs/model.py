"""The cost model that both the Infracost parser and the built-in estimator produce.

Money is ``Decimal`` throughout (Infracost writes it as decimal strings; floats would lose
cents on sums). ``None`` in a ``past_*`` field means "no baseline": the estimate was made
without knowing what runs today, which is different from a baseline of zero.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

ZERO = Decimal(0)
HOURS_PER_MONTH = Decimal(730)  # the convention AWS and Infracost use for monthly prices


class Estimator(StrEnum):
    INFRACOST = "infracost"
    BUILTIN = "builtin"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CostComponent(_Frozen):
    """One priced line: ``Instance usage (Linux/UNIX, on-demand, t3.nano)``, 730 h at $0.0052."""

    name: str
    unit: str = ""
    price: Decimal | None = None
    monthly_quantity: Decimal | None = None
    monthly_cost: Decimal | None = None
    usage_based: bool = False


class ResourceCost(_Frozen):
    """A resource's monthly cost before and after the change.

    ``monthly_cost`` is the cost after the change (``None``: not priced, for example a
    usage-based resource without usage); ``past_monthly_cost`` the cost before (``None``: no
    baseline). A created resource has a past cost of zero, a deleted one a cost of zero.
    """

    address: str
    resource_type: str = ""
    monthly_cost: Decimal | None = None
    past_monthly_cost: Decimal | None = None
    usage_based: bool = False
    components: tuple[CostComponent, ...] = ()
    tags: dict[str, str] = Field(default_factory=dict)
    action: str = ""  # the plan action when the estimator saw the plan (built-in)

    @property
    def diff(self) -> Decimal | None:
        """Monthly change; ``None`` when there is no baseline to compare with."""
        if self.past_monthly_cost is None:
            return None
        return (self.monthly_cost or ZERO) - self.past_monthly_cost

    @property
    def changed(self) -> bool:
        """The cost moves, or a usage-priced resource comes or goes (its cost is unknown)."""
        if self.diff:
            return True
        return self.usage_based and self.action in ("create", "delete", "replace")


class UnpricedResource(_Frozen):
    """A resource neither estimator could price, with the reason shown in the comment."""

    address: str
    resource_type: str
    reason: str
    action: str = ""  # the plan action (create, update, delete, ...) when known
    count: int = 1  # Infracost reports unsupported resources as counts per type


class ProjectCost(_Frozen):
    """One Infracost project, or the one Terraform directory the built-in estimator read."""

    name: str
    monthly_cost: Decimal = ZERO
    past_monthly_cost: Decimal | None = None
    monthly_usage_cost: Decimal | None = None
    resources: tuple[ResourceCost, ...] = ()
    errors: tuple[str, ...] = ()

    @property
    def diff(self) -> Decimal | None:
        if self.past_monthly_cost is None:
            return None
        return self.monthly_cost - self.past_monthly_cost


class CostReport(_Frozen):
    """What a plan run knows about cost; the renderer, the policy and the insights read it."""

    estimator: Estimator
    currency: str = "USD"
    projects: tuple[ProjectCost, ...] = ()
    total_monthly_cost: Decimal = ZERO
    past_total_monthly_cost: Decimal | None = None
    total_monthly_usage_cost: Decimal | None = None
    unpriced: tuple[UnpricedResource, ...] = ()
    catalog_date: str | None = None  # built-in estimator: the date of the price catalog
    catalog_version: str | None = None
    region: str | None = None

    @property
    def diff_total_monthly_cost(self) -> Decimal | None:
        """Total monthly change; ``None`` when there is no baseline."""
        if self.past_total_monthly_cost is None:
            return None
        return self.total_monthly_cost - self.past_total_monthly_cost

    @property
    def resources(self) -> tuple[ResourceCost, ...]:
        return tuple(r for p in self.projects for r in p.resources)

    def changed_resources(self) -> list[ResourceCost]:
        """Resources whose monthly cost changes, largest absolute change first."""
        changed = [r for r in self.resources if r.changed]
        return sorted(changed, key=lambda r: (-abs(r.diff or ZERO), r.address))

    @property
    def unpriced_changes(self) -> tuple[UnpricedResource, ...]:
        """Unpriced resources the plan touches; their cost may change without us knowing."""
        return tuple(u for u in self.unpriced if u.action not in ("", "no-op", "read"))

    @property
    def errors(self) -> tuple[tuple[str, str], ...]:
        """(project, message) for every project the estimator could not price."""
        return tuple((p.name, e) for p in self.projects for e in p.errors)

    @property
    def has_cost_change(self) -> bool:
        return bool(self.diff_total_monthly_cost) or bool(self.changed_resources())


class CostTotals(_Frozen):
    """What a run records about cost (for history and the per-PR metric)."""

    estimator: Estimator
    currency: str
    total_monthly_cost: Decimal
    past_total_monthly_cost: Decimal | None
    diff_total_monthly_cost: Decimal | None
    unpriced: int


def totals_of(report: CostReport) -> CostTotals:
    return CostTotals(
        estimator=report.estimator,
        currency=report.currency,
        total_monthly_cost=report.total_monthly_cost,
        past_total_monthly_cost=report.past_total_monthly_cost,
        diff_total_monthly_cost=report.diff_total_monthly_cost,
        unpriced=sum(u.count for u in report.unpriced),
    )
