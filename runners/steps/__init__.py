"""The step implementations, one function per ``StepKind``, looked up in ``STEPS``."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.jobs import StepSpec
from runners.context import RunContext, StepOutcome
from runners.process import ProcessRunner

StepFunction = Callable[[RunContext, StepSpec, ProcessRunner], StepOutcome]


def step_functions() -> dict[str, StepFunction]:
    """Kind -> function; imported lazily so a Terraform run never imports ruamel or boto3."""
    from runners.steps import ansible, cost, deploy, images, terraform

    return {
        "terraform_fmt": terraform.fmt,
        "terraform_init": terraform.init,
        "terraform_validate": terraform.validate,
        "terraform_plan": terraform.plan,
        "terraform_apply": terraform.apply,
        "terraform_output": terraform.output,
        "cost_estimate": cost.estimate,
        "inventory": ansible.inventory,
        "ansible_playbook": ansible.playbook,
        "image_build": images.build,
        "compose_rewrite": images.compose_rewrite,
        "compose_deploy": deploy.compose_deploy,
    }
