"""The built-in estimator against Infracost's own figures for the same plans.

Pairs from the corpus: the plan JSON that Infracost priced, and Infracost's JSON output for it.
Each resource both price must agree within 5 %. Run with ``-s`` to see the median and worst.
"""

from __future__ import annotations

import json
import statistics
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from chalicelib.costs.estimator import estimate_plan
from chalicelib.costs.infracost import parse_infracost

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TOLERANCE = Decimal("0.05")

PAIRS = {
    # plan → (Infracost output made from it, usage file used, resources left out and why)
    "terraform_v0.14_plan.json": ("terraform_v0.14_breakdown.json", None, {}),
    "example_plan.json": (
        "breakdown_format_json.json",
        "example_usage.yml",
        {
            # The usage file buys a 1-year all-upfront reserved instance; Infracost prices its
            # hours at $0 a month. The built-in estimator knows on-demand prices only.
            "aws_instance.zero_cost_instance": "reserved instance from the usage file",
        },
    ),
}


def _pairs(plan_name: str) -> list[tuple[str, Decimal, Decimal]]:
    output, usage_file, skip = PAIRS[plan_name]
    plan = json.loads((FIXTURES / "cost_plans" / plan_name).read_bytes())
    usage = None
    if usage_file:
        usage = yaml.safe_load((FIXTURES / "infracost" / usage_file).read_text())["resource_usage"]
    ours = {r.address: r for r in estimate_plan(plan, usage=usage).resources}
    theirs = parse_infracost((FIXTURES / "infracost" / "json" / output).read_bytes())
    rows = []
    for resource in theirs.resources:
        if resource.address in skip or resource.address not in ours:
            continue
        rows.append((resource.address, ours[resource.address].monthly_cost, resource.monthly_cost))
    return rows


def _error(ours: Decimal | None, theirs: Decimal | None) -> Decimal:
    ours, theirs = ours or Decimal(0), theirs or Decimal(0)
    if theirs == 0:
        return Decimal(0) if ours == 0 else Decimal(1)
    return abs(ours - theirs) / theirs


@pytest.mark.parametrize("plan_name", sorted(PAIRS))
def test_each_resource_within_five_percent_of_infracost(plan_name: str) -> None:
    rows = _pairs(plan_name)
    assert len(rows) >= 3
    for address, ours, theirs in rows:
        assert _error(ours, theirs) <= TOLERANCE, (address, ours, theirs)


def test_agreement_summary() -> None:
    rows = [row for plan in sorted(PAIRS) for row in _pairs(plan)]
    errors = sorted(_error(ours, theirs) for _, ours, theirs in rows)
    median, worst = statistics.median(errors), errors[-1]
    print(
        f"\nagreement with Infracost: {len(rows)} resources, "
        f"median error {median * 100:.2f} %, worst {worst * 100:.2f} %"
    )
    for address, ours, theirs in rows:
        print(f"  {address}: built-in {ours:.4f}, Infracost {theirs:.4f}")
    assert len(rows) == 14 + 3  # every resource both estimators price is compared
    assert worst <= TOLERANCE


def test_the_plan_level_change_matches_infracost() -> None:
    plan = json.loads((FIXTURES / "cost_plans" / "terraform_v0.14_plan.json").read_bytes())
    ours = estimate_plan(plan)
    theirs = parse_infracost(
        (FIXTURES / "infracost" / "json" / "terraform_v0.14_breakdown.json").read_bytes()
    )
    assert ours.total_monthly_cost == theirs.total_monthly_cost == Decimal("81.122")
    assert ours.diff_total_monthly_cost == theirs.diff_total_monthly_cost == Decimal("40.561")
    assert [r.address for r in ours.changed_resources()] == [
        r.address for r in theirs.changed_resources()
    ]


def _corpus_components() -> set[tuple[str, Decimal]]:
    """(component name, unit price) of every priced line in the Infracost corpus."""
    found: set[tuple[str, Decimal]] = set()

    def walk(resource: dict) -> None:
        for c in resource.get("costComponents") or ():
            if c.get("price") is not None:
                found.add((c["name"], Decimal(c["price"])))
        for sub in resource.get("subresources") or ():
            walk(sub)

    for path in (FIXTURES / "infracost" / "json").glob("*.json"):
        for project in json.loads(path.read_bytes())["projects"]:
            for key in ("breakdown", "pastBreakdown"):
                for resource in (project.get(key) or {}).get("resources") or ():
                    walk(resource)
    return found


def test_catalog_unit_prices_match_every_aws_price_in_the_infracost_corpus() -> None:
    """Infracost prices in us-east-1 unless told otherwise; none of these outputs names a region."""
    from chalicelib.costs.catalog import load_catalog

    us = load_catalog().region("us-east-1")
    ours = {
        "Storage (general purpose SSD, gp2)": {us.ebs["gp2"]["storage"], us.rds.storage["gp2"]},
        "Storage (provisioned IOPS SSD, io1)": {us.ebs["io1"]["storage"]},
        "Provisioned IOPS": {us.ebs["io1"]["iops"]},
        "Requests": {us.prices["lambda_request_million"]},
        "Duration": {us.prices["lambda_gb_second"]},
        "Duration (first 6B)": {us.prices["lambda_gb_second"]},
        "Database instance (on-demand, Single-AZ, db.t3.micro)": {
            us.rds.instance["mysql"]["db.t3.micro"]
        },
    }
    compared = 0
    for name, price in sorted(_corpus_components()):
        if name.startswith("Instance usage (Linux/UNIX, on-demand, "):
            itype = name.rsplit(", ", 1)[1].rstrip(")")
            assert us.ec2[itype] == price, name
        elif name in ours:
            assert price in ours[name], (name, price, ours[name])
        else:
            continue  # S3, ECR, CPU credits, ephemeral storage: not in the built-in estimator
        compared += 1
    print(f"\ncatalog vs Infracost corpus: {compared} AWS unit prices, all equal")
    assert compared >= 14
