from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.costs.catalog import load_catalog
from chalicelib.costs.estimator import estimate_plan
from chalicelib.costs.exceptions import PlanFormatError
from chalicelib.costs.model import Estimator

H = Decimal(730)


def _one(report, address):
    return next(r for r in report.resources if r.address == address)


def test_region_comes_from_the_root_aws_provider(plan_of, rc) -> None:
    plan = plan_of(rc("aws_eip.a", ["create"], after={}), region="eu-central-1")
    assert estimate_plan(plan).region == "eu-central-1"


def test_region_falls_back_to_the_default(plan_of, rc) -> None:
    plan = plan_of(rc("aws_eip.a", ["create"], after={}), region=None)
    assert estimate_plan(plan).region == "us-east-1"
    assert estimate_plan(plan, default_region="eu-west-1").region == "eu-west-1"


def test_an_aliased_provider_gives_the_region_when_it_is_the_only_one(plan_file) -> None:
    report = estimate_plan(plan_file("tfplan_route53.json"))
    assert report.region == "us-east-1"


def test_instance_prices_type_and_volumes(plan_of, rc) -> None:
    after = {
        "instance_type": "t3.micro",
        "root_block_device": [{"volume_size": 20, "volume_type": "gp3"}],
        "ebs_block_device": [{"volume_size": 100, "volume_type": "io1", "iops": 1000}],
    }
    report = estimate_plan(plan_of(rc("aws_instance.web", ["create"], after=after)))
    web = _one(report, "aws_instance.web")
    expected = (
        H * Decimal("0.0104")
        + 20 * Decimal("0.08")
        + 100 * Decimal("0.125")
        + 1000 * Decimal("0.065")
    )
    assert web.monthly_cost == expected
    assert web.past_monthly_cost == 0 and web.diff == expected
    assert report.estimator is Estimator.BUILTIN


def test_instance_without_root_block_gets_the_default_8_gb_gp2(plan_of, rc) -> None:
    plan = plan_of(rc("aws_instance.a", ["create"], after={"instance_type": "t3.nano"}))
    assert _one(estimate_plan(plan), "aws_instance.a").monthly_cost == Decimal("4.596")


@pytest.mark.parametrize(
    ("volume", "expected"),
    [
        ({"type": "gp2", "size": 100}, Decimal("10.0")),
        ({"type": "gp3", "size": 100}, Decimal("8.0")),
        ({"type": "gp3", "size": 100, "iops": 4000, "throughput": 250}, Decimal("8") + 5 + 5),
        ({"type": "io2", "size": 10, "iops": 100}, Decimal("1.25") + Decimal("6.5")),
        ({"type": "st1", "size": 500}, Decimal("22.5")),
        ({"type": "sc1", "size": 500}, Decimal("7.5")),
        ({"size": 10}, Decimal("1.0")),  # the provider's default type
    ],
)
def test_ebs_volume_types(plan_of, rc, volume, expected) -> None:
    plan = plan_of(rc("aws_ebs_volume.v", ["create"], after=volume))
    assert _one(estimate_plan(plan), "aws_ebs_volume.v").monthly_cost == expected


def test_regional_prices_differ(plan_of, rc) -> None:
    costs = {
        region: estimate_plan(
            plan_of(rc("aws_nat_gateway.n", ["create"], after={}), region=region)
        ).total_monthly_cost
        for region in ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1")
    }
    assert costs["us-east-1"] == H * Decimal("0.045") == costs["us-west-2"]
    assert costs["eu-central-1"] > costs["eu-west-1"] > costs["us-east-1"]


@pytest.mark.parametrize(
    ("address", "after", "expected", "usage_based"),
    [
        ("aws_eip.ip", {}, H * Decimal("0.005"), False),
        ("aws_nat_gateway.n", {}, H * Decimal("0.045"), True),
        ("aws_lb.alb", {"load_balancer_type": "application"}, H * Decimal("0.0225"), True),
        ("aws_lb.nlb", {"load_balancer_type": "network"}, H * Decimal("0.0225"), True),
        ("aws_elb.classic", {}, H * Decimal("0.025"), True),
        ("aws_route53_zone.z", {"name": "example.com"}, Decimal("0.50"), False),
        ("aws_dynamodb_table.runs", {"billing_mode": "PAY_PER_REQUEST"}, Decimal(0), True),
        (
            "aws_dynamodb_table.p",
            {"billing_mode": "PROVISIONED", "read_capacity": 10, "write_capacity": 5},
            H * (10 * Decimal("0.00013") + 5 * Decimal("0.00065")),
            True,
        ),
        ("aws_lambda_function.f", {"memory_size": 512}, Decimal(0), True),
        (
            "aws_codebuild_project.b",
            {"environment": [{"compute_type": "BUILD_GENERAL1_SMALL"}]},
            Decimal(0),
            True,
        ),
    ],
)
def test_each_resource_type(plan_of, rc, address, after, expected, usage_based) -> None:
    resource = _one(estimate_plan(plan_of(rc(address, ["create"], after=after))), address)
    assert resource.monthly_cost == expected
    assert resource.usage_based is usage_based


def test_usage_values_price_the_usage_based_lines(plan_of, rc) -> None:
    plan = plan_of(
        rc("aws_lambda_function.f", ["create"], after={"memory_size": 1024}),
        rc("aws_dynamodb_table.t", ["create"], after={"billing_mode": "PAY_PER_REQUEST"}),
        rc("aws_codebuild_project.b[0]", ["create"], after={}),
    )
    usage = {
        "aws_lambda_function.f": {"monthly_requests": 100_000_000, "request_duration_ms": 250},
        "aws_dynamodb_table.t": {"monthly_write_request_units": 2_000_000, "storage_gb": 4},
        "aws_codebuild_project.b[*]": {"monthly_build_mins": 600},
    }
    report = estimate_plan(plan, usage=usage)
    assert _one(report, "aws_lambda_function.f").monthly_cost == Decimal("436.6675")
    assert _one(report, "aws_dynamodb_table.t").monthly_cost == Decimal("1.25") + Decimal("1")
    assert _one(report, "aws_codebuild_project.b[0]").monthly_cost == Decimal("3")


def test_update_delete_and_replace_give_before_and_after(plan_of, rc) -> None:
    plan = plan_of(
        rc(
            "aws_instance.up",
            ["update"],
            {"instance_type": "t3.micro"},
            {"instance_type": "t3.large"},
        ),
        rc("aws_eip.gone", ["delete"], {}, None),
        rc(
            "aws_ebs_volume.r",
            ["delete", "create"],
            {"type": "gp2", "size": 10},
            {"type": "gp3", "size": 10},
        ),
        rc("aws_route53_zone.same", ["no-op"], {}, {}),
    )
    report = estimate_plan(plan)
    up = _one(report, "aws_instance.up")
    assert up.diff == H * (Decimal("0.0832") - Decimal("0.0104"))
    gone = _one(report, "aws_eip.gone")
    assert (gone.monthly_cost, gone.past_monthly_cost) == (0, H * Decimal("0.005"))
    assert _one(report, "aws_ebs_volume.r").diff == Decimal("-0.2")
    assert not _one(report, "aws_route53_zone.same").changed
    assert report.diff_total_monthly_cost == sum(r.diff for r in report.resources)


def test_unpriced_resources_carry_a_reason_and_free_ones_are_skipped(plan_of, rc) -> None:
    plan = plan_of(
        rc("aws_instance.gpu", ["create"], after={"instance_type": "p5.48xlarge"}),
        rc("aws_instance.unknown", ["create"], after={"instance_type": None}),
        rc("aws_sqs_queue.q", ["create"], after={}),
        rc("aws_autoscaling_group.web", ["create"], after={"desired_capacity": 3}),
        rc("aws_security_group.sg", ["create"], after={}),
        rc("null_resource.x", ["create"], after={}),
    )
    report = estimate_plan(plan)
    reasons = {u.address: u.reason for u in report.unpriced}
    assert reasons == {
        "aws_instance.gpu": "no price for instance type p5.48xlarge",
        "aws_instance.unknown": "instance type unknown until apply",
        "aws_sqs_queue.q": "no built-in price for this resource type",
        # Not free: it launches instances the plan does not list.
        "aws_autoscaling_group.web": "no built-in price for this resource type",
    }
    assert report.resources == ()
    assert {u.action for u in report.unpriced} == {"create"}


def test_a_region_outside_the_catalog_is_unpriced_but_global_services_are_not(plan_file) -> None:
    report = estimate_plan(plan_file("test_issue-427.plan.json"))
    assert report.region == "us-west-1"
    assert [r.address for r in report.resources] == ["aws_route53_zone.public"]
    plan = {
        "resource_changes": [
            {
                "address": "aws_eip.a",
                "type": "aws_eip",
                "change": {"actions": ["create"], "after": {}},
            }
        ]
    }
    assert estimate_plan(plan, default_region="ap-south-2").unpriced[0].reason == (
        "region ap-south-2 is not in the price catalog"
    )


def test_a_per_resource_region_wins(plan_of, rc) -> None:
    plan = plan_of(rc("aws_eip.a", ["create"], after={"region": "eu-central-1"}))
    assert estimate_plan(plan).total_monthly_cost == H * Decimal("0.005")
    plan = plan_of(rc("aws_nat_gateway.a", ["create"], after={"region": "eu-central-1"}))
    assert estimate_plan(plan).total_monthly_cost == H * Decimal("0.052")


def test_data_sources_and_outputs_only_plans(plan_file) -> None:
    assert estimate_plan({"format_version": "1.0", "output_changes": {}}).total_monthly_cost == 0


def test_tags_are_kept_for_insights(plan_of, rc) -> None:
    after = {
        "instance_type": "t3.nano",
        "tags": {"env": "dev"},
        "tags_all": {"env": "dev", "team": "x"},
    }
    report = estimate_plan(plan_of(rc("aws_instance.a", ["create"], after=after)))
    assert report.resources[0].tags == {"env": "dev", "team": "x"}


@pytest.mark.parametrize(
    "plan", [[], {"resource_changes": [{"address": "x"}]}, {"resource_changes": 3}]
)
def test_malformed_plans_raise_a_domain_error(plan) -> None:
    with pytest.raises(PlanFormatError):
        estimate_plan(plan)


def test_report_names_the_catalog(plan_file) -> None:
    report = estimate_plan(plan_file("test_issue-158.plan.json"))
    catalog = load_catalog()
    assert (report.catalog_date, report.catalog_version) == (catalog.date, catalog.version)
    assert report.region == "eu-west-1"
    nat = [r for r in report.resources if r.resource_type == "aws_nat_gateway"]
    assert len(nat) == 3 and all(r.monthly_cost == H * Decimal("0.048") for r in nat)
    assert [u.resource_type for u in report.unpriced] == ["aws_vpn_gateway"]


def test_a_whole_real_plan(plan_file) -> None:
    report = estimate_plan(plan_file("plan.tfplan.json"))
    assert report.region == "us-west-2"
    types = {r.resource_type for r in report.resources}
    assert {"aws_instance", "aws_ebs_volume", "aws_elb", "aws_db_instance"} <= types
    assert "aws_eks_cluster" in {u.resource_type for u in report.unpriced}
    assert report.total_monthly_cost == sum(r.monthly_cost for r in report.resources)


def test_a_report_travels_as_json_from_the_runner_to_the_controller(plan_file) -> None:
    from chalicelib.costs.model import CostReport

    report = estimate_plan(plan_file("test_issue-158.plan.json"))
    text = report.model_dump_json()
    assert '"total_monthly_cost":"116.070"' in text  # money stays a decimal string
    assert CostReport.model_validate_json(text) == report


def test_a_deleted_usage_priced_resource_is_still_a_change(plan_of, rc) -> None:
    plan = plan_of(rc("aws_lambda_function.old", ["delete"], {"memory_size": 128}, None))
    [gone] = estimate_plan(plan).resources
    assert gone.usage_based and gone.changed and gone.diff == 0
    assert [c.name for c in gone.components] == ["Requests", "Duration"]


# Real plans from Terraform 1.11 (tests/fixtures/terraform-plans-1.11, see its README).
TF111 = Path(__file__).resolve().parents[2] / "fixtures" / "terraform-plans-1.11"


def _tf111(name: str) -> dict:
    return json.loads((TF111 / f"{name}.plan.json").read_text())


def test_a_forgotten_volume_is_still_billed() -> None:
    # removed { lifecycle { destroy = false } }: the 100 GB gp2 volume keeps running.
    report = estimate_plan(_tf111("forget"))

    volume = _one(report, "aws_ebs_volume.data")
    assert volume.action == "forget"
    assert volume.past_monthly_cost == volume.monthly_cost == Decimal("10.00")
    assert report.diff_total_monthly_cost == 0


def test_an_import_and_a_move_change_no_cost(plan_of, rc) -> None:
    volume = {"availability_zone": "us-east-1a", "size": 100, "type": "gp2"}
    imported = rc("aws_ebs_volume.adopted", ["no-op"], before=volume, after=volume)
    imported["change"]["importing"] = {"id": "vol-0123"}
    unknown_import = rc("aws_ebs_volume.later", ["create"], after=volume)
    unknown_import["change"]["importing"] = {"id": "vol-0456", "unknown": True}
    moved = rc("aws_ebs_volume.renamed", ["no-op"], before=volume, after=volume)
    moved["previous_address"] = "aws_ebs_volume.old"

    report = estimate_plan(plan_of(imported, unknown_import, moved))

    assert {r.address for r in report.resources} == {
        "aws_ebs_volume.adopted",
        "aws_ebs_volume.later",
        "aws_ebs_volume.renamed",
    }
    for resource in report.resources:
        assert resource.past_monthly_cost == resource.monthly_cost == Decimal("10.00")
    assert report.diff_total_monthly_cost == 0


def test_real_imports_change_no_cost_beyond_what_is_added() -> None:
    report = estimate_plan(_tf111("imports"))

    assert report.diff_total_monthly_cost == 0  # SSM standard parameters are free
    assert not report.unpriced
