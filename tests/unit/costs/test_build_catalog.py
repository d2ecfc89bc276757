from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.costs.catalog import CATALOG_PATH, parse_catalog
from chalicelib.costs.estimator import estimate_plan
from chalicelib.costs.pricers import PRICERS

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "pricing" / "build_catalog.py"
OFFERS = ROOT / "tests" / "fixtures" / "cost_plans" / "price_list"
REGIONS = ("us-east-1", "eu-west-1")


def _script():
    name = "maestrops_build_catalog"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while being built
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def built() -> dict:
    bc = _script()
    offers = [bc.load_offer(p) for p in bc.offer_files([OFFERS])]
    return bc.build_catalog(offers, regions=REGIONS, date="2026-11-26", source="test")


def test_linux_on_demand_shared_only(built) -> None:
    us = built["regions"]["us-east-1"]
    # Windows, dedicated, reserved, capacity reservations and SQL images are all skipped.
    assert us["ec2"] == {"t3.nano": "0.0052", "m4.large": "0.1", "m6g.large": "0.077"}
    assert built["regions"]["eu-west-1"]["ec2"]["t3.nano"] == "0.0057"


def test_instance_types_carry_generation_and_architecture(built) -> None:
    types = built["instance_types"]
    assert types["m4.large"] == {
        "vcpu": 2,
        "memory_gib": "8",
        "arch": "x86_64",
        "current_generation": False,
    }
    assert types["m6g.large"]["arch"] == "arm64"
    assert types["t3.nano"]["memory_gib"] == "0.5"


def test_ebs_dimensions_and_units(built) -> None:
    ebs = built["regions"]["us-east-1"]["ebs"]
    assert ebs["gp3"] == {"storage": "0.08", "iops": "0.005", "throughput": "0.04"}  # GiBps→MiBps
    assert ebs["io1"] == {"storage": "0.125", "iops": "0.065"}
    assert "io2" not in ebs  # only a tier-2 IOPS rate is in the excerpt: not a base price


def test_named_prices_with_tiers_and_scales(built) -> None:
    prices = built["regions"]["us-east-1"]["prices"]
    assert prices["dynamodb_write_million"] == "0.625"  # per unit in the offer, per million here
    assert prices["dynamodb_storage_gb"] == "0.25"  # the paid tier, not the free 25 GB
    assert prices["dynamodb_wcu_hour"] == "0.00065"
    assert prices["lambda_request_million"] == "0.2"
    assert prices["lambda_gb_second"] == "0.0000166667"  # the first duration tier
    assert prices["eip_hour"] == "0.005"
    assert prices["codebuild_general1_small_minute"] == "0.005"
    assert "codebuild_general1_medium_minute" in prices
    assert prices["route53_zone_month"] == "0.5"  # first 25 zones, listed second in the offer
    # Route 53 is global: every region gets it.
    assert built["regions"]["eu-west-1"]["prices"]["route53_zone_month"] == "0.5"


def test_rds_single_az_by_engine(built) -> None:
    rds = built["regions"]["us-east-1"]["rds"]
    assert rds == {
        "instance": {"mysql": {"db.t3.micro": "0.017"}, "postgres": {"db.t3.micro": "0.018"}},
        "storage": {"gp2": "0.115"},
    }


def test_the_built_catalog_drives_the_estimator(built) -> None:
    catalog = parse_catalog(json.dumps(built))
    assert "AmazonEC2 20261120184525" in catalog.source
    plan = {
        "configuration": {
            "provider_config": {
                "aws": {"name": "aws", "expressions": {"region": {"constant_value": "eu-west-1"}}}
            }
        },
        "resource_changes": [
            {
                "address": "aws_instance.a",
                "type": "aws_instance",
                "change": {"actions": ["create"], "after": {"instance_type": "t3.nano"}},
            }
        ],
    }
    report = estimate_plan(plan, catalog=catalog)
    assert report.total_monthly_cost == 730 * Decimal("0.0057") + 8 * Decimal("0.11")
    assert report.catalog_date == "2026-11-26"


def test_command_line(tmp_path: Path) -> None:
    out = tmp_path / "catalog.json"
    args = [sys.executable, str(SCRIPT), "--offers", str(OFFERS), "--date", "2026-11-26"]
    done = subprocess.run(
        [*args, "--regions", ",".join(REGIONS), "--out", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert parse_catalog(out.read_bytes()).version == "2026-11-26.1"
    missing = subprocess.run(args, capture_output=True, text=True)  # default: four regions
    assert missing.returncode == 1
    assert "no EC2 prices for us-west-2, eu-central-1" in missing.stderr
    urls = subprocess.run([*args, "--print-urls"], capture_output=True, text=True).stdout.split()
    assert (
        "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/current/eu-west-1/index.json"
        in urls
    )
    assert len(urls) == 7 * 4 + 1


def test_the_committed_catalog_covers_the_required_regions_and_resources() -> None:
    committed = json.loads(CATALOG_PATH.read_bytes())
    catalog = parse_catalog(CATALOG_PATH.read_bytes())
    assert {"us-east-1", "us-west-2", "eu-west-1", "eu-central-1"} <= set(catalog.regions)
    assert "regenerate" in catalog.source and "build_catalog.py" in catalog.source
    assert catalog.date and catalog.currency == "USD"
    builder_keys = set(_script().build_catalog([], regions=(), date="d", source="s"))
    assert set(committed) == builder_keys  # same shape as what the script writes
    for name, region in catalog.regions.items():
        assert len(region.ec2) > 100, name
        assert set(region.ebs) == {"gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"}, name
        assert {"storage", "iops", "throughput"} <= set(region.ebs["gp3"]), name
        assert set(region.ec2) <= set(catalog.instance_types), name
        needed = {
            "eip_hour",
            "nat_gateway_hour",
            "alb_hour",
            "nlb_hour",
            "clb_hour",
            "route53_zone_month",
            "dynamodb_write_million",
            "dynamodb_read_million",
            "lambda_request_million",
            "lambda_gb_second",
            "codebuild_general1_small_minute",
        }
        assert needed <= set(region.prices), name
    assert set(PRICERS) >= {"aws_instance", "aws_ebs_volume", "aws_eip", "aws_nat_gateway"}
