from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.costs.insights import InsightsConfig, find_insights

H = Decimal(730)


def test_gp2_volume_to_gp3(plan_of, rc) -> None:
    plan = plan_of(rc("aws_ebs_volume.data", ["create"], after={"type": "gp2", "size": 100}))
    [insight] = find_insights(plan)
    assert insight.rule == "gp2_to_gp3" and insight.address == "aws_ebs_volume.data"
    assert insight.monthly_saving == Decimal("2.00")  # 100 GB x ($0.10 - $0.08)


def test_a_large_gp2_volume_pays_for_the_iops_gp3_must_buy(plan_of, rc) -> None:
    # 2000 GB of gp2 gives 6000 IOPS; gp3 includes 3000 and sells the other 3000.
    plan = plan_of(rc("aws_ebs_volume.big", ["create"], after={"type": "gp2", "size": 2000}))
    [insight] = find_insights(plan)
    assert insight.monthly_saving == 2000 * Decimal("0.02") - 3000 * Decimal("0.005")


def test_gp2_devices_of_an_instance(plan_of, rc) -> None:
    after = {
        "instance_type": "t3.micro",
        "root_block_device": [{"volume_type": "gp2", "volume_size": 50}],
        "ebs_block_device": [{"volume_type": "gp3", "volume_size": 50}],
    }
    insights = find_insights(plan_of(rc("aws_instance.a", ["create"], after=after)))
    assert [(i.rule, i.monthly_saving) for i in insights] == [("gp2_to_gp3", Decimal("1.00"))]
    assert "root_block_device" in insights[0].message


def test_unchanged_resources_get_no_advice(plan_of, rc) -> None:
    vol = {"type": "gp2", "size": 100}
    plan = plan_of(rc("aws_ebs_volume.old", ["no-op"], vol, vol), rc("aws_eip.x", ["delete"], {}))
    assert find_insights(plan) == []


def test_previous_generation_to_current_x86_when_the_architecture_is_unknown(plan_of, rc) -> None:
    plan = plan_of(rc("aws_instance.a", ["create"], after={"instance_type": "m4.xlarge"}))
    [insight] = find_insights(plan)
    assert insight.rule == "previous_generation"
    assert insight.monthly_saving == H * (Decimal("0.20") - Decimal("0.192"))  # → m6i.xlarge
    assert "m6i.xlarge costs less" in insight.message
    assert "Graviton m6g.xlarge would save $33.58 a month with an arm64 AMI" in insight.message


def _with_ami(plan: dict, ami: str, arch: str) -> dict:
    plan["prior_state"] = {
        "values": {
            "root_module": {
                "resources": [
                    {
                        "address": "data.aws_ami.base",
                        "mode": "data",
                        "type": "aws_ami",
                        "values": {"id": ami, "architecture": arch},
                    }
                ]
            }
        }
    }
    return plan


def test_graviton_when_the_ami_is_arm64(plan_of, rc) -> None:
    plan = plan_of(
        rc("aws_instance.a", ["create"], after={"instance_type": "c4.large", "ami": "ami-arm"})
    )
    [insight] = find_insights(_with_ami(plan, "ami-arm", "arm64"))
    assert "c6g.large costs less" in insight.message and "Graviton" not in insight.message
    assert insight.monthly_saving == H * (Decimal("0.10") - Decimal("0.068"))


def test_an_x86_ami_gets_no_graviton_hint(plan_of, rc) -> None:
    plan = plan_of(
        rc("aws_instance.a", ["create"], after={"instance_type": "c4.large", "ami": "ami-x86"})
    )
    [insight] = find_insights(_with_ami(plan, "ami-x86", "x86_64"))
    assert insight.message == "c4.large is an older generation; c6i.large costs less"


def test_current_generation_is_left_alone(plan_of, rc) -> None:
    plan = plan_of(rc("aws_instance.a", ["create"], after={"instance_type": "m6i.large"}))
    assert find_insights(plan) == []


def _eip_plan(plan_of, rc, expressions: dict, extra: list | None = None) -> dict:
    plan = plan_of(rc("aws_eip.ip", ["create"], after={"domain": "vpc"}))
    plan["configuration"]["root_module"] = {
        "resources": [{"address": "aws_eip.ip", "type": "aws_eip", "expressions": expressions}]
        + (extra or [])
    }
    return plan


def test_an_eip_attached_to_nothing(plan_of, rc) -> None:
    [insight] = find_insights(_eip_plan(plan_of, rc, {"domain": {"constant_value": "vpc"}}))
    assert insight.rule == "unattached_eip" and insight.monthly_saving == H * Decimal("0.005")


def test_an_eip_with_an_instance_or_held_by_a_nat_gateway_is_in_use(plan_of, rc) -> None:
    attached = {"instance": {"references": ["aws_instance.web.id", "aws_instance.web"]}}
    assert find_insights(_eip_plan(plan_of, rc, attached)) == []
    nat = {
        "address": "aws_nat_gateway.n",
        "type": "aws_nat_gateway",
        "expressions": {"allocation_id": {"references": ["aws_eip.ip.id", "aws_eip.ip"]}},
    }
    assert find_insights(_eip_plan(plan_of, rc, {}, [nat])) == []


def test_an_eip_held_through_a_local_in_a_real_module_plan(plan_file) -> None:
    # terraform-aws-modules/vpc: the NAT gateways take their EIPs through a local.
    assert find_insights(plan_file("test_issue-158.plan.json")) == []


def test_oversized_instance_in_non_production(plan_of, rc) -> None:
    after = {"instance_type": "m5.4xlarge", "tags": {"Environment": "staging"}}
    [insight] = find_insights(plan_of(rc("aws_instance.big", ["create"], after=after)))
    assert insight.rule == "oversized_non_production"
    assert (
        "m5.xlarge is likely enough" in insight.message and "Environment=staging" in insight.message
    )
    assert insight.monthly_saving == H * (Decimal("0.768") - Decimal("0.192"))


@pytest.mark.parametrize("tags", [{"env": "prod"}, {}, {"Name": "dev"}])
def test_production_or_untagged_instances_are_not_oversized(plan_of, rc, tags) -> None:
    after = {"instance_type": "m5.4xlarge", "tags": tags}
    assert find_insights(plan_of(rc("aws_instance.big", ["create"], after=after))) == []


def test_the_vcpu_limit_is_configurable(plan_of, rc) -> None:
    after = {"instance_type": "m5.xlarge", "tags": {"env": "dev"}}
    plan = plan_of(rc("aws_instance.a", ["create"], after=after))
    assert find_insights(plan) == []
    [insight] = find_insights(plan, InsightsConfig(non_production_max_vcpu=2))
    assert "m5.large" in insight.message


@pytest.mark.parametrize(
    "rule", ["gp2_to_gp3", "previous_generation", "unattached_eip", "oversized_non_production"]
)
def test_each_rule_can_be_switched_off(plan_of, rc, rule: str) -> None:
    plan = _eip_plan(plan_of, rc, {})
    plan["resource_changes"] += [
        rc("aws_ebs_volume.v", ["create"], after={"type": "gp2", "size": 100}),
        rc("aws_instance.old", ["create"], after={"instance_type": "m4.large"}),
        rc(
            "aws_instance.big",
            ["create"],
            after={"instance_type": "m5.4xlarge", "tags": {"env": "dev"}},
        ),
    ]
    everything = {i.rule for i in find_insights(plan)}
    assert everything == {
        "gp2_to_gp3",
        "previous_generation",
        "unattached_eip",
        "oversized_non_production",
    }
    off = InsightsConfig(**{rule: False})
    assert {i.rule for i in find_insights(plan, off)} == everything - {rule}


def test_largest_saving_first_and_region_prices(plan_of, rc) -> None:
    plan = plan_of(
        rc("aws_ebs_volume.small", ["create"], after={"type": "gp2", "size": 10}),
        rc("aws_ebs_volume.large", ["create"], after={"type": "gp2", "size": 500}),
        region="eu-central-1",
    )
    insights = find_insights(plan)
    assert [i.address for i in insights] == ["aws_ebs_volume.large", "aws_ebs_volume.small"]
    assert insights[0].monthly_saving == 500 * (Decimal("0.119") - Decimal("0.0952"))


def test_a_region_outside_the_catalog_gives_no_advice(plan_of, rc) -> None:
    plan = plan_of(
        rc("aws_ebs_volume.v", ["create"], after={"type": "gp2", "size": 10}), region="ap-south-2"
    )
    assert find_insights(plan) == []


def test_an_eip_in_a_counted_module_is_matched_to_its_configuration(plan_of, rc) -> None:
    plan = plan_of(rc('module.edge["eu.a"].aws_eip.ip[0]', ["create"], after={}))
    plan["resource_changes"][0]["type"] = "aws_eip"
    nat = {
        "address": "aws_nat_gateway.n",
        "type": "aws_nat_gateway",
        "expressions": {"allocation_id": {"references": ['aws_eip.ip["x.y"].id']}},
    }
    eip = {"address": "aws_eip.ip", "type": "aws_eip", "expressions": {}}
    plan["configuration"]["root_module"] = {
        "module_calls": {"edge": {"module": {"resources": [eip, nat]}}}
    }
    assert find_insights(plan) == []
    plan["configuration"]["root_module"]["module_calls"]["edge"]["module"]["resources"] = [eip]
    [insight] = find_insights(plan)
    assert insight.address == 'module.edge["eu.a"].aws_eip.ip[0]'
