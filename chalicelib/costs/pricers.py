"""Per-resource-type pricing for the built-in estimator.

Each pricer takes a resource's attributes (the plan's ``before`` or ``after``) and the
region's prices and returns its cost components, or raises ``Unpriceable`` with the reason
the comment shows. Usage-based lines (requests, data processed) are listed with no cost:
a plan says nothing about traffic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from chalicelib.costs.catalog import RegionPrices
from chalicelib.costs.model import HOURS_PER_MONTH, ZERO, CostComponent

Attrs = Mapping[str, Any]
Pricer = Callable[[Attrs, RegionPrices, Attrs], list[CostComponent]]

# What AWS charges nothing for (or charges through another resource). Not listed as unpriced.
_FREE_TYPE_NAMES = """aws_vpc aws_default_vpc aws_subnet aws_default_subnet aws_security_group
    aws_security_group_rule aws_vpc_security_group_ingress_rule
    aws_vpc_security_group_egress_rule aws_route_table aws_default_route_table aws_route
    aws_route_table_association aws_main_route_table_association aws_internet_gateway
    aws_egress_only_internet_gateway aws_network_acl aws_default_network_acl
    aws_network_acl_rule aws_network_interface aws_network_interface_attachment
    aws_volume_attachment aws_eip_association aws_key_pair aws_iam_role aws_iam_policy
    aws_iam_role_policy aws_iam_role_policy_attachment aws_iam_instance_profile aws_iam_user
    aws_iam_user_policy aws_iam_user_policy_attachment aws_iam_group aws_iam_access_key
    aws_iam_policy_attachment aws_iam_group_policy_attachment aws_iam_service_linked_role
    aws_lb_listener aws_lb_listener_rule aws_alb_listener aws_alb_listener_rule
    aws_lb_target_group aws_alb_target_group aws_lb_target_group_attachment
    aws_alb_target_group_attachment aws_route53_record aws_db_subnet_group
    aws_db_parameter_group aws_db_option_group aws_launch_template aws_launch_configuration
    aws_placement_group aws_s3_bucket_policy aws_s3_bucket_acl
    aws_s3_bucket_versioning aws_s3_bucket_public_access_block aws_lambda_permission
    aws_cloudwatch_log_resource_policy aws_vpn_gateway_attachment aws_ecs_cluster
    aws_ecs_task_definition aws_sns_topic_subscription aws_acm_certificate
    aws_acm_certificate_validation aws_lambda_event_source_mapping aws_api_gateway_deployment
    aws_api_gateway_resource aws_api_gateway_method aws_api_gateway_integration
    aws_api_gateway_method_response aws_api_gateway_integration_response
    aws_cloudwatch_event_target aws_cloudwatch_event_rule aws_ssm_parameter"""
FREE_TYPES = frozenset(_FREE_TYPE_NAMES.split())
# Providers whose resources cost nothing on a cloud bill.
FREE_PROVIDERS = ("null_", "random_", "local_", "tls_", "time_", "template_", "terraform_")


class Unpriceable(Exception):
    """The resource's price cannot be known from the plan and the catalog."""


def _dec(value: Any, default: Decimal | None = None) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return default
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return default


def _millions(value: Any) -> Decimal | None:
    count = _dec(value)
    return None if count is None else count / 1_000_000


def _price(prices: RegionPrices, key: str) -> Decimal:
    value = prices.price(key)
    if value is None:
        raise Unpriceable(f"no price for {key} in the catalog")
    return value


def _hourly(name: str, hourly: Decimal, count: Decimal = Decimal(1)) -> CostComponent:
    quantity = HOURS_PER_MONTH * count
    return CostComponent(
        name=name,
        unit="hours",
        price=hourly,
        monthly_quantity=quantity,
        monthly_cost=hourly * quantity,
    )


def _monthly(name: str, unit: str, price: Decimal, quantity: Decimal) -> CostComponent:
    return CostComponent(
        name=name, unit=unit, price=price, monthly_quantity=quantity, monthly_cost=price * quantity
    )


def _usage(
    name: str, unit: str, price: Decimal | None, quantity: Decimal | None = None
) -> CostComponent:
    """A usage-priced line; without a quantity from the usage file it has no cost."""
    cost = price * quantity if price is not None and quantity is not None else None
    return CostComponent(
        name=name,
        unit=unit,
        price=price,
        monthly_quantity=quantity,
        monthly_cost=cost,
        usage_based=True,
    )


def _block(attrs: Attrs, key: str) -> list[Attrs]:
    value = attrs.get(key)
    return [b for b in value if isinstance(b, Mapping)] if isinstance(value, list) else []


# --- EBS -------------------------------------------------------------------------------------

_EBS_NAMES = {
    "gp2": "general purpose SSD, gp2",
    "gp3": "general purpose SSD, gp3",
    "io1": "provisioned IOPS SSD, io1",
    "io2": "provisioned IOPS SSD, io2",
    "st1": "throughput optimised HDD, st1",
    "sc1": "cold HDD, sc1",
    "standard": "magnetic",
}
GP3_FREE_IOPS = Decimal(3000)
GP3_FREE_THROUGHPUT = Decimal(125)  # MiB/s


def volume_components(
    prices: RegionPrices,
    vtype: str,
    size: Decimal,
    iops: Decimal | None,
    throughput: Decimal | None,
    prefix: str = "",
) -> list[CostComponent]:
    """Storage plus the provisioned IOPS/throughput that the volume type bills for."""
    dims = prices.ebs.get(vtype)
    if dims is None or "storage" not in dims:
        raise Unpriceable(f"no price for EBS volume type {vtype}")
    out = [
        _monthly(f"{prefix}Storage ({_EBS_NAMES.get(vtype, vtype)})", "GB", dims["storage"], size)
    ]
    if vtype == "gp3":
        extra_iops = max((iops or ZERO) - GP3_FREE_IOPS, ZERO)
        extra_tp = max((throughput or ZERO) - GP3_FREE_THROUGHPUT, ZERO)
        if extra_iops:
            out.append(_monthly(f"{prefix}Provisioned IOPS", "IOPS", dims["iops"], extra_iops))
        if extra_tp:
            out.append(
                _monthly(f"{prefix}Provisioned throughput", "MiBps", dims["throughput"], extra_tp)
            )
    elif vtype in ("io1", "io2") and iops:
        out.append(_monthly(f"{prefix}Provisioned IOPS", "IOPS", dims["iops"], iops))
    return out


def price_ebs_volume(attrs: Attrs, prices: RegionPrices, usage: Attrs) -> list[CostComponent]:
    size = _dec(attrs.get("size"))
    if size is None:
        raise Unpriceable("volume size unknown until apply")
    vtype = attrs.get("type") or "gp2"
    return volume_components(
        prices, vtype, size, _dec(attrs.get("iops")), _dec(attrs.get("throughput"))
    )


# --- EC2 -------------------------------------------------------------------------------------

DEFAULT_ROOT_GB = Decimal(8)  # the size of most AMIs' root snapshot, as Infracost assumes


def price_instance(attrs: Attrs, prices: RegionPrices, usage: Attrs) -> list[CostComponent]:
    itype = attrs.get("instance_type")
    if not isinstance(itype, str):
        raise Unpriceable("instance type unknown until apply")
    hourly = prices.ec2.get(itype)
    if hourly is None:
        raise Unpriceable(f"no price for instance type {itype}")
    out = [_hourly(f"Instance usage (Linux/UNIX, on-demand, {itype})", hourly)]
    roots = _block(attrs, "root_block_device") or [{}]
    out += _device(prices, roots[0], "root_block_device: ")
    for i, dev in enumerate(_block(attrs, "ebs_block_device")):
        out += _device(prices, dev, f"ebs_block_device[{i}]: ")
    return out


def _device(prices: RegionPrices, dev: Attrs, prefix: str) -> list[CostComponent]:
    size = _dec(dev.get("volume_size"), DEFAULT_ROOT_GB) or DEFAULT_ROOT_GB
    vtype = dev.get("volume_type") or "gp2"
    iops, tp = _dec(dev.get("iops")), _dec(dev.get("throughput"))
    return volume_components(prices, vtype, size, iops, tp, prefix)


# --- network ---------------------------------------------------------------------------------


def price_eip(attrs: Attrs, prices: RegionPrices, usage: Attrs) -> list[CostComponent]:
    return [_hourly("IP address (public IPv4)", _price(prices, "eip_hour"))]


def price_nat_gateway(attrs: Attrs, prices: RegionPrices, usage: Attrs) -> list[CostComponent]:
    return [
        _hourly("NAT gateway", _price(prices, "nat_gateway_hour")),
        _usage(
            "Data processed",
            "GB",
            prices.price("nat_gateway_gb"),
            _dec(usage.get("monthly_data_processed_gb")),
        ),
    ]


def price_lb(attrs: Attrs, prices: RegionPrices, usage: Attrs) -> list[CostComponent]:
    kind = attrs.get("load_balancer_type") or "application"
    if kind == "application":
        return [
            _hourly("Application load balancer", _price(prices, "alb_hour")),
            _usage("Load balancer capacity units", "LCU", prices.price("alb_lcu_hour")),
        ]
    if kind == "network":
        return [
            _hourly("Network load balancer", _price(prices, "nlb_hour")),
            _usage("Load balancer capacity units", "NLCU", prices.price("nlb_lcu_hour")),
        ]
    raise Unpriceable(f"no price for {kind} load balancers")


def price_elb(attrs: Attrs, prices: RegionPrices, usage: Attrs) -> list[CostComponent]:
    return [
        _hourly("Classic load balancer", _price(prices, "clb_hour")),
        _usage(
            "Data processed",
            "GB",
            prices.price("clb_gb"),
            _dec(usage.get("monthly_data_processed_gb")),
        ),
    ]


def price_route53_zone(attrs: Attrs, prices: RegionPrices, usage: Attrs) -> list[CostComponent]:
    price = _price(prices, "route53_zone_month")
    return [_monthly("Hosted zone", "months", price, Decimal(1))]


# --- the controller's own services -----------------------------------------------------------


def price_dynamodb(attrs: Attrs, prices: RegionPrices, usage: Attrs) -> list[CostComponent]:
    storage = _usage(
        "Data storage", "GB", prices.price("dynamodb_storage_gb"), _dec(usage.get("storage_gb"))
    )
    if attrs.get("billing_mode") == "PROVISIONED":
        rcu = _dec(attrs.get("read_capacity"), ZERO) or ZERO
        wcu = _dec(attrs.get("write_capacity"), ZERO) or ZERO
        return [
            _hourly("Read capacity unit (RCU)", _price(prices, "dynamodb_rcu_hour"), rcu),
            _hourly("Write capacity unit (WCU)", _price(prices, "dynamodb_wcu_hour"), wcu),
            storage,
        ]
    return [
        _usage(
            "Write request unit (WRU)",
            "1M WRU",
            prices.price("dynamodb_write_million"),
            _millions(usage.get("monthly_write_request_units")),
        ),
        _usage(
            "Read request unit (RRU)",
            "1M RRU",
            prices.price("dynamodb_read_million"),
            _millions(usage.get("monthly_read_request_units")),
        ),
        storage,
    ]


def price_lambda(attrs: Attrs, prices: RegionPrices, usage: Attrs) -> list[CostComponent]:
    arm = "arm64" in (attrs.get("architectures") or ())
    duration = prices.price("lambda_gb_second_arm" if arm else "lambda_gb_second")
    requests = _dec(usage.get("monthly_requests"))
    ms = _dec(usage.get("request_duration_ms"))
    memory_gb = (_dec(attrs.get("memory_size"), Decimal(128)) or Decimal(128)) / 1024
    seconds = requests * ms / 1000 * memory_gb if requests is not None and ms is not None else None
    return [
        _usage(
            "Requests",
            "1M requests",
            prices.price("lambda_request_million"),
            _millions(usage.get("monthly_requests")),
        ),
        _usage("Duration", "GB-seconds", duration, seconds),
    ]


def price_codebuild(attrs: Attrs, prices: RegionPrices, usage: Attrs) -> list[CostComponent]:
    env = (_block(attrs, "environment") or [{}])[0]
    compute = str(env.get("compute_type") or "BUILD_GENERAL1_SMALL").lower()
    size = compute.rsplit("_", 1)[-1]
    price = prices.price(f"codebuild_general1_{size}_minute")
    minutes = _dec(usage.get("monthly_build_mins"))
    return [_usage(f"Build minutes ({compute})", "minutes", price, minutes)]


# --- RDS (so the estimate covers the databases most Terraform plans hold) -------------------

_RDS_ENGINE = {"mysql": "mysql", "mariadb": "mysql", "postgres": "postgres"}


def price_db_instance(attrs: Attrs, prices: RegionPrices, usage: Attrs) -> list[CostComponent]:
    klass, engine = attrs.get("instance_class"), _RDS_ENGINE.get(str(attrs.get("engine")))
    hourly = prices.rds.instance.get(engine or "", {}).get(str(klass))
    if hourly is None:
        raise Unpriceable(f"no price for {attrs.get('engine')} {klass}")
    multi = bool(attrs.get("multi_az"))
    az = "Multi-AZ" if multi else "Single-AZ"
    out = [_hourly(f"Database instance (on-demand, {az}, {klass})", hourly * (2 if multi else 1))]
    size = _dec(attrs.get("allocated_storage"))
    stype = attrs.get("storage_type") or "gp2"
    gb_price = prices.rds.storage.get(stype)
    if size and gb_price is not None:
        label = _EBS_NAMES.get(stype, stype)
        out.append(_monthly(f"Storage ({label})", "GB", gb_price * (2 if multi else 1), size))
    return out


PRICERS: dict[str, Pricer] = {
    "aws_instance": price_instance,
    "aws_ebs_volume": price_ebs_volume,
    "aws_eip": price_eip,
    "aws_nat_gateway": price_nat_gateway,
    "aws_lb": price_lb,
    "aws_alb": price_lb,
    "aws_elb": price_elb,
    "aws_route53_zone": price_route53_zone,
    "aws_dynamodb_table": price_dynamodb,
    "aws_lambda_function": price_lambda,
    "aws_codebuild_project": price_codebuild,
    "aws_db_instance": price_db_instance,
}


def is_free(resource_type: str) -> bool:
    return resource_type in FREE_TYPES or resource_type.startswith(FREE_PROVIDERS)
