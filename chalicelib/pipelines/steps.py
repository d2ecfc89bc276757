"""The steps each pipeline runs, from ``.gitops.yml``: the runner executes them in order."""

from __future__ import annotations

from pathlib import PurePosixPath

from chalicelib.jobs import Pipeline, StepSpec
from chalicelib.pipelines.config import GitOpsConfig


def steps_for(pipeline: Pipeline, config: GitOpsConfig) -> list[StepSpec]:
    """The ordered steps of ``pipeline``.

    >>> [s.name for s in steps_for(Pipeline.TERRAFORM_VALIDATE, GitOpsConfig())]
    ['fmt', 'init', 'validate']
    """
    return _BUILDERS[pipeline](config)


def _validate(config: GitOpsConfig) -> list[StepSpec]:
    return [
        StepSpec(name="fmt", kind="terraform_fmt"),
        StepSpec(name="init", kind="terraform_init", params={"backend": False}),
        StepSpec(name="validate", kind="terraform_validate"),
    ]


def _plan(config: GitOpsConfig) -> list[StepSpec]:
    return [
        StepSpec(name="init", kind="terraform_init", params={"backend": True}),
        StepSpec(name="plan", kind="terraform_plan"),
        StepSpec(name="cost", kind="cost_estimate", params={"policy": config.cost}),
    ]


def _apply(config: GitOpsConfig) -> list[StepSpec]:
    """Apply and read the outputs; the inventory only when ansible-monitoring will use it.

    The inventory step skips, saying why, when the stack has no ``hosts`` output: an apply
    of a stack without machines is a successful apply.
    """
    steps = [
        StepSpec(name="init", kind="terraform_init", params={"backend": True}),
        StepSpec(name="apply", kind="terraform_apply"),
        StepSpec(name="output", kind="terraform_output"),
    ]
    if config.pipeline(Pipeline.ANSIBLE_MONITORING).enabled:
        steps.append(StepSpec(name="inventory", kind="inventory"))
    return steps


def _monitoring(config: GitOpsConfig) -> list[StepSpec]:
    """The monitoring host, then the app hosts in the same ``ansible-playbook`` command.

    ``app.yml`` gives the app hosts the agents stack the monitoring host scrapes, and the
    ``maestrops`` network the application's compose file joins as external: without it the
    first deploy cannot start. It sits beside the monitoring playbook, whose roles and
    group_vars it shares; the runner leaves it out, saying so, where a repository has none.
    """
    playbook = config.ansible.playbook
    app = str(PurePosixPath(playbook).with_name(APP_PLAYBOOK))
    return [
        StepSpec(name="init", kind="terraform_init", params={"backend": True}),
        StepSpec(name="output", kind="terraform_output"),
        StepSpec(name="inventory", kind="inventory"),
        StepSpec(
            name="monitoring",
            kind="ansible_playbook",
            params={"playbook": playbook, "more_playbooks": [app], "inventory": "inventory.ini"},
        ),
    ]


APP_PLAYBOOK = "app.yml"


def _ci(config: GitOpsConfig) -> list[StepSpec]:
    app = config.application
    images = [image.model_dump() for image in app.images]
    return [
        StepSpec(name="build", kind="image_build", params={"images": images}),
        StepSpec(
            name="rewrite",
            kind="compose_rewrite",
            params={"compose_file": app.compose_file, "images": [i.name for i in app.images]},
        ),
    ]


def _cd(config: GitOpsConfig) -> list[StepSpec]:
    app = config.application
    return [
        StepSpec(
            name="deploy",
            kind="compose_deploy",
            params={"compose_file": app.compose_file, "health_path": app.health_path},
        ),
    ]


_BUILDERS = {
    Pipeline.TERRAFORM_VALIDATE: _validate,
    Pipeline.TERRAFORM_PLAN: _plan,
    Pipeline.TERRAFORM_APPLY: _apply,
    Pipeline.ANSIBLE_MONITORING: _monitoring,
    Pipeline.CI_APPLICATION: _ci,
    Pipeline.CD_APPLICATION: _cd,
}


def working_dir_for(pipeline: Pipeline, config: GitOpsConfig) -> str:
    if pipeline in (Pipeline.CI_APPLICATION, Pipeline.CD_APPLICATION):
        return config.application.dir
    return config.terraform.dir
