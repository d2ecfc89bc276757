#!/usr/bin/env python3
"""Build chalicelib/costs/catalog/aws-prices.json from AWS Price List offer files.

The offer files are the public, unauthenticated JSON of the AWS Price List Bulk API, one per
service and region, for example::

    https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/current/us-east-1/index.json

Fetch them wherever that host is reachable (``--print-urls`` lists the ones needed), then::

    python scripts/pricing/build_catalog.py --offers DIR \
        --out chalicelib/costs/catalog/aws-prices.json

Every ``*.json`` or ``*.json.gz`` file under DIR is read; which service a file holds comes from
its ``offerCode``. Only on-demand terms are used (Linux, shared tenancy for EC2). The regional
EC2 file is several hundred MB: run this on a machine with a few GB of memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
DEFAULT_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1")
OFFERS = (
    "AmazonEC2",
    "AmazonVPC",
    "AWSELB",
    "AmazonRoute53",
    "AmazonDynamoDB",
    "AWSLambda",
    "AWSCodeBuild",
    "AmazonRDS",
)
URL = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{offer}/current/{region}/index.json"
GLOBAL_URL = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{offer}/current/index.json"
MIB_PER_GIB = Decimal(1024)
MILLION = Decimal(1_000_000)

# Older offer files lack ``regionCode``; their ``location`` names the region.
LOCATIONS = {
    "US East (N. Virginia)": "us-east-1",
    "US West (Oregon)": "us-west-2",
    "EU (Ireland)": "eu-west-1",
    "EU (Frankfurt)": "eu-central-1",
}
RDS_ENGINES = {"MySQL": "mysql", "MariaDB": "mysql", "PostgreSQL": "postgres"}
RDS_STORAGE = {"General Purpose": "gp2", "General Purpose-GP3": "gp3", "Magnetic": "standard"}


@dataclass(frozen=True)
class Price:
    """One catalog entry: ``path`` inside the region's object, and the unit price."""

    region: str  # "" for a global service (Route 53): copied into every region
    path: tuple[str, ...]
    value: Decimal


@dataclass(frozen=True)
class Rate:
    unit: str
    begin: Decimal
    value: Decimal


def load_offer(path: Path) -> dict[str, Any]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def on_demand_rates(offer: dict[str, Any], sku: str) -> list[Rate]:
    """Every price dimension of the SKU's on-demand terms, lowest tier first."""
    rates = []
    for term in (offer.get("terms", {}).get("OnDemand", {}).get(sku) or {}).values():
        for dim in term.get("priceDimensions", {}).values():
            usd = dim.get("pricePerUnit", {}).get("USD")
            if usd is None:
                continue
            rates.append(
                Rate(dim.get("unit", ""), Decimal(dim.get("beginRange", "0")), Decimal(usd))
            )
    return sorted(rates, key=lambda r: r.begin)


def first_rate(rates: list[Rate]) -> Rate | None:
    return rates[0] if rates else None


def paid_rate(rates: list[Rate]) -> Rate | None:
    """The first non-zero tier: free tiers (first 25 GB of DynamoDB, ...) are not the price."""
    return next((r for r in rates if r.value), None)


def region_of(attrs: dict[str, str]) -> str | None:
    return attrs.get("regionCode") or LOCATIONS.get(attrs.get("location", ""))


def _usage(attrs: dict[str, str]) -> str:
    """``EUW1-NatGateway-Hours`` → ``NatGateway-Hours`` (us-east-1 has no prefix)."""
    usage = attrs.get("usagetype", "")
    return re.sub(r"^[A-Z]{2,4}\d?-", "", usage)


def extract(offer: dict[str, Any]) -> Iterator[Price]:
    """The catalog prices in one offer file."""
    code = offer.get("offerCode", "")
    handler = HANDLERS.get(code)
    if handler is None:
        return
    for sku, product in offer.get("products", {}).items():
        attrs = product.get("attributes", {})
        yield from handler(product.get("productFamily", ""), attrs, on_demand_rates(offer, sku))


def _ec2(family: str, attrs: dict[str, str], rates: list[Rate]) -> Iterator[Price]:
    region, rate = region_of(attrs), first_rate(rates)
    if region is None or rate is None:
        return
    usage = _usage(attrs)
    if family == "Compute Instance" and _linux_on_demand(attrs) and rate.unit == "Hrs":
        yield Price(region, ("ec2", attrs["instanceType"]), rate.value)
    elif family == "Storage" and attrs.get("volumeApiName"):
        yield Price(region, ("ebs", attrs["volumeApiName"], "storage"), rate.value)
    elif (
        family == "System Operation"
        and usage.startswith("EBS:VolumeP-IOPS")
        and ".tier" not in usage
    ):
        yield Price(region, ("ebs", attrs.get("volumeApiName", ""), "iops"), rate.value)
    elif family == "Provisioned Throughput" and attrs.get("volumeApiName"):
        per_mib = rate.value / MIB_PER_GIB if rate.unit.lower().startswith("gibps") else rate.value
        yield Price(region, ("ebs", attrs["volumeApiName"], "throughput"), per_mib)
    elif family == "NAT Gateway" and usage == "NatGateway-Hours":
        yield Price(region, ("prices", "nat_gateway_hour"), rate.value)
    elif family == "NAT Gateway" and usage == "NatGateway-Bytes":
        yield Price(region, ("prices", "nat_gateway_gb"), rate.value)
    elif usage in ("PublicIPv4:InUseAddress", "PublicIPv4:IdleAddress"):
        yield from _eip(region, rates)


def _linux_on_demand(attrs: dict[str, str]) -> bool:
    return (
        attrs.get("operatingSystem") == "Linux"
        and attrs.get("tenancy") == "Shared"
        and attrs.get("preInstalledSw") == "NA"
        and attrs.get("capacitystatus", "Used") == "Used"
        and attrs.get("licenseModel", "No License required") == "No License required"
    )


def _eip(region: str, rates: list[Rate]) -> Iterator[Price]:
    rate = paid_rate(rates)
    if rate is not None:
        yield Price(region, ("prices", "eip_hour"), rate.value)


def _vpc(family: str, attrs: dict[str, str], rates: list[Rate]) -> Iterator[Price]:
    region = region_of(attrs)
    if region and _usage(attrs) in ("PublicIPv4:InUseAddress", "PublicIPv4:IdleAddress"):
        yield from _eip(region, rates)


_ELB = {
    ("Load Balancer-Application", "LoadBalancerUsage"): "alb_hour",
    ("Load Balancer-Application", "LCUUsage"): "alb_lcu_hour",
    ("Load Balancer-Network", "LoadBalancerUsage"): "nlb_hour",
    ("Load Balancer-Network", "LCUUsage"): "nlb_lcu_hour",
    ("Load Balancer", "LoadBalancerUsage"): "clb_hour",
    ("Load Balancer", "DataProcessing-Bytes"): "clb_gb",
}


def _elb(family: str, attrs: dict[str, str], rates: list[Rate]) -> Iterator[Price]:
    key, region, rate = _ELB.get((family, _usage(attrs))), region_of(attrs), first_rate(rates)
    if key and region and rate:
        yield Price(region, ("prices", key), rate.value)


def _route53(family: str, attrs: dict[str, str], rates: list[Rate]) -> Iterator[Price]:
    rate = first_rate(rates)  # the first 25 zones; the catalog prices small accounts
    if family == "DNS Zone" and _usage(attrs) == "HostedZone" and rate:
        yield Price("", ("prices", "route53_zone_month"), rate.value)


_DDB = {
    "WriteRequestUnits": ("dynamodb_write_million", MILLION),
    "ReadRequestUnits": ("dynamodb_read_million", MILLION),
    "TimedStorage-ByteHrs": ("dynamodb_storage_gb", Decimal(1)),
    "WriteCapacityUnit-Hrs": ("dynamodb_wcu_hour", Decimal(1)),
    "ReadCapacityUnit-Hrs": ("dynamodb_rcu_hour", Decimal(1)),
}


def _dynamodb(family: str, attrs: dict[str, str], rates: list[Rate]) -> Iterator[Price]:
    found, region, rate = _DDB.get(_usage(attrs)), region_of(attrs), paid_rate(rates)
    if found and region and rate:
        key, scale = found
        yield Price(region, ("prices", key), rate.value * scale)


_LAMBDA = {
    "Request": ("lambda_request_million", MILLION),
    "Lambda-GB-Second": ("lambda_gb_second", Decimal(1)),
    "Lambda-GB-Second-ARM": ("lambda_gb_second_arm", Decimal(1)),
}


def _lambda(family: str, attrs: dict[str, str], rates: list[Rate]) -> Iterator[Price]:
    found, region, rate = _LAMBDA.get(_usage(attrs)), region_of(attrs), first_rate(rates)
    if family == "Serverless" and found and region and rate:
        key, scale = found
        yield Price(region, ("prices", key), rate.value * scale)


def _codebuild(family: str, attrs: dict[str, str], rates: list[Rate]) -> Iterator[Price]:
    match = re.search(r"Build-Min:(?:Linux:)?g1\.(small|medium|large)$", _usage(attrs))
    region, rate = region_of(attrs), first_rate(rates)
    if match and region and rate:
        yield Price(region, ("prices", f"codebuild_general1_{match.group(1)}_minute"), rate.value)


def _rds(family: str, attrs: dict[str, str], rates: list[Rate]) -> Iterator[Price]:
    region, rate = region_of(attrs), first_rate(rates)
    if region is None or rate is None or attrs.get("deploymentOption") != "Single-AZ":
        return
    engine = RDS_ENGINES.get(attrs.get("databaseEngine", ""))
    if family == "Database Instance" and engine:
        yield Price(region, ("rds", "instance", engine, attrs["instanceType"]), rate.value)
    storage = RDS_STORAGE.get(attrs.get("volumeType", ""))
    if family == "Database Storage" and storage:
        yield Price(region, ("rds", "storage", storage), rate.value)


HANDLERS = {
    "AmazonEC2": _ec2,
    "AmazonVPC": _vpc,
    "AWSELB": _elb,
    "AmazonRoute53": _route53,
    "AmazonDynamoDB": _dynamodb,
    "AWSLambda": _lambda,
    "AWSCodeBuild": _codebuild,
    "AmazonRDS": _rds,
}


def instance_types(offer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """vCPU, memory, architecture and generation of each EC2 instance type in the offer."""
    out: dict[str, dict[str, Any]] = {}
    if offer.get("offerCode") != "AmazonEC2":
        return out
    for product in offer.get("products", {}).values():
        attrs = product.get("attributes", {})
        if product.get("productFamily") != "Compute Instance" or "instanceType" not in attrs:
            continue
        processor = attrs.get("physicalProcessor", "")
        arm = "Graviton" in processor or attrs.get("processorArchitecture") == "Arm"
        out[attrs["instanceType"]] = {
            "vcpu": int(attrs.get("vcpu", "0")),
            "memory_gib": _number(attrs.get("memory", "0 GiB")),
            "arch": "arm64" if arm else "x86_64",
            "current_generation": attrs.get("currentGeneration", "Yes") == "Yes",
        }
    return out


def _number(text: str) -> str:
    return str(Decimal(text.split()[0].replace(",", "")).normalize())


def build_catalog(
    offers: Iterable[dict[str, Any]],
    *,
    regions: Iterable[str] = DEFAULT_REGIONS,
    date: str,
    source: str,
) -> dict[str, Any]:
    """The catalog document (schema 1) for the given regions, from parsed offer files."""
    wanted = list(regions)
    tree: dict[str, dict[str, Any]] = {
        r: {"ec2": {}, "ebs": {}, "rds": {}, "prices": {}} for r in wanted
    }
    types: dict[str, dict[str, Any]] = {}
    publications = []
    for offer in offers:
        publications.append(f"{offer.get('offerCode')} {offer.get('version', '?')}")
        types.update(instance_types(offer))
        for price in extract(offer):
            for region in [price.region] if price.region else wanted:
                if region in tree:
                    _put(tree[region], price.path, price.value)
    priced = set().union(*(t["ec2"] for t in tree.values())) if tree else set()
    return {
        "schema_version": SCHEMA_VERSION,
        "version": f"{date}.1",
        "date": date,
        "currency": "USD",
        "source": f"{source} (offer files: {', '.join(sorted(set(publications)))})",
        "hours_per_month": "730",
        "instance_types": {k: types[k] for k in sorted(types) if k in priced},
        "regions": {r: _strings(tree[r]) for r in wanted},
    }


def _put(tree: dict[str, Any], path: tuple[str, ...], value: Decimal) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value


def _strings(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strings(v) for k, v in sorted(node.items())}
    return format(node.normalize(), "f") if isinstance(node, Decimal) else node


def offer_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.name.endswith((".json", ".json.gz")))
        else:
            yield path


def urls(regions: Iterable[str]) -> list[str]:
    regional = [
        URL.format(offer=o, region=r) for o in OFFERS if o != "AmazonRoute53" for r in regions
    ]
    return [*regional, GLOBAL_URL.format(offer="AmazonRoute53")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--offers", type=Path, nargs="+", help="offer files or directories")
    parser.add_argument("--out", type=Path, help="catalog to write (default: stdout)")
    parser.add_argument("--regions", default=",".join(DEFAULT_REGIONS))
    parser.add_argument("--date", default=dt.date.today().isoformat())
    parser.add_argument("--source", default="AWS Price List Bulk API offer files, on-demand terms")
    parser.add_argument("--print-urls", action="store_true", help="list the offer files to fetch")
    args = parser.parse_args(argv)
    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    if args.print_urls:
        print("\n".join(urls(regions)))
        return 0
    if not args.offers:
        parser.error("--offers is required")
    offers = (load_offer(p) for p in offer_files(args.offers))
    catalog = build_catalog(offers, regions=regions, date=args.date, source=args.source)
    missing = [r for r, t in catalog["regions"].items() if not t["ec2"]]
    if missing:
        print(f"no EC2 prices for {', '.join(missing)}: missing offer files?", file=sys.stderr)
        return 1
    text = json.dumps(catalog, indent=1) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
