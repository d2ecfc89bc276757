"""The estimator and the insights on plans that the project's real Terraform 1.0.3 writes.

``tests/fixtures/cost_plans/maestrops_tf103_aws.plan.json`` is ``terraform show -json`` of
``tests/fixtures/cost_plans/terraform/main.tf`` (Terraform 1.0.3, hashicorp/aws 5.100.0, planned
offline with fake credentials). The live test re-plans it when an AWS provider filesystem
mirror of the provider is found on the machine (it cannot be downloaded here).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from chalicelib.costs.estimator import estimate_plan
from chalicelib.costs.insights import find_insights
from chalicelib.costs.render import render_cost_block

ROOT = Path(__file__).resolve().parents[3]
PLANS = ROOT / "tests" / "fixtures" / "cost_plans"
TERRAFORM = ROOT / ".venv" / "bin" / "terraform"
H = Decimal(730)


def _check(plan: dict) -> None:
    report = estimate_plan(plan)
    assert report.region == "eu-west-1"
    cost = {r.address: r.monthly_cost for r in report.resources}
    assert cost == {
        "aws_instance.build": H * Decimal("0.444") + 50 * Decimal("0.11"),
        "aws_ebs_volume.data": 200 * Decimal("0.11"),
        "aws_eip.spare": H * Decimal("0.005"),
        "aws_eip.nat": H * Decimal("0.005"),
        "aws_nat_gateway.main": H * Decimal("0.048"),
        "aws_lb.web": H * Decimal("0.0252"),
        "aws_route53_zone.main": Decimal("0.50"),
        "aws_dynamodb_table.runs": Decimal(0),
    }
    assert [(u.address, u.reason) for u in report.unpriced] == [
        ("aws_sqs_queue.jobs", "no built-in price for this resource type")
    ]
    rules = {(i.rule, i.address) for i in find_insights(plan)}
    assert rules == {
        ("oversized_non_production", "aws_instance.build"),
        ("previous_generation", "aws_instance.build"),
        ("gp2_to_gp3", "aws_instance.build"),
        ("gp2_to_gp3", "aws_ebs_volume.data"),
        ("unattached_eip", "aws_eip.spare"),  # aws_eip.nat is held by the NAT gateway
    }
    block = render_cost_block(report, find_insights(plan))
    assert "`aws_dynamodb_table.runs` † | $0.00" in block  # created, priced by use only


def test_a_real_terraform_1_0_3_plan() -> None:
    _check(json.loads((PLANS / "maestrops_tf103_aws.plan.json").read_bytes()))


@pytest.mark.slow
def test_replanning_with_real_terraform(tmp_path: Path) -> None:
    from runners.plugins import discover_provider_mirror

    mirror = discover_provider_mirror("hashicorp/aws")
    if mirror is None:
        pytest.skip(
            "no filesystem mirror of hashicorp/aws on this machine: lay one out with "
            "`terraform providers mirror DIR` where there is internet, and copy DIR here"
        )
    work = tmp_path / "tf"
    shutil.copytree(PLANS / "terraform", work)
    config = tmp_path / "cli.tfrc"
    config.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path = "{mirror}"\n'
        '    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n'
    )
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(config),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "HOME": str(tmp_path),
    }

    def tf(*args: str) -> str:
        done = subprocess.run(
            [str(TERRAFORM), *args], cwd=work, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    tf("init", "-no-color")
    tf("plan", "-no-color", "-out", "plan.out")
    plan = json.loads(tf("show", "-json", "plan.out"))
    assert plan["terraform_version"] == "1.0.3"
    _check(plan)
