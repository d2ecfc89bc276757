"""From a recorded run to the JobSpec a runner executes. Pure."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

from chalicelib.jobs import Callback, JobSpec, Pipeline, StepSpec
from chalicelib.pipelines.config import GitOpsConfig
from chalicelib.pipelines.identity import runner_identity
from chalicelib.pipelines.state import s3_backend_config
from chalicelib.pipelines.steps import steps_for, working_dir_for
from chalicelib.plans.digests import APPLY_PARAM
from chalicelib.runs.model import Run
from chalicelib.settings import Settings


def build_job(
    run: Run,
    config: GitOpsConfig,
    settings: Settings,
    clone_url: str,
    plan_digests: Mapping[str, str] | None = None,
) -> JobSpec:
    """The job of ``run``; an apply's ``plan_digests`` are those its reviewed plan run recorded."""
    pipeline = Pipeline(run.pipeline)
    steps = [_pinned_plan(step, plan_digests or {}) for step in steps_for(pipeline, config)]
    callback = Callback(event_bus=settings.event_bus)
    artifact_prefix = f"s3://{settings.artifacts_bucket}/runs/{run.id}/"
    if settings.local_data_dir:
        callback = Callback(local_dir=f"{settings.local_data_dir}/events")
        # On disk beside the runs: a plan reviewed before a restart is applied after it.
        artifact_prefix = Path(settings.local_data_dir, "artifacts", "runs", run.id).as_uri() + "/"
        steps = [_local_playbook(step, settings.local_data_dir) for step in steps]
    else:
        steps = [_ssm_playbook(step, settings) for step in steps]
        steps = [_aws_terraform(step, run, config, settings) for step in steps]
    return JobSpec(
        run_id=run.id,
        pipeline=pipeline,
        repo=run.repo,
        clone_url=clone_url,
        sha=run.sha,
        branch=run.branch,
        pr=run.pr,
        run_number=run.run_number,
        working_dir=working_dir_for(pipeline, config),
        workspace=config.terraform.workspace,
        steps=steps,
        artifact_prefix=artifact_prefix,
        callback=callback,
        backend=run.backend or settings.runner_backend,
        timeout_minutes=run.timeout_minutes,
        previous_run_id=run.plan_run_id or run.retry_of,
        identity=runner_identity(
            run.pipeline, run.branch, run.base_branch, run.from_fork, config.protected_branches()
        ),
    )


def _pinned_plan(step: StepSpec, plan_digests: Mapping[str, str]) -> StepSpec:
    """The apply step carries the plan file's digest: the runner refuses any other file."""
    if step.kind != "terraform_apply" or "plan" not in plan_digests:
        return step
    params = {**step.params, APPLY_PARAM: plan_digests["plan"]}
    return step.model_copy(update={"params": params})


def _aws_terraform(step: StepSpec, run: Run, config: GitOpsConfig, settings: Settings) -> StepSpec:
    """AWS mode: ``init`` gets the controller's S3 backend; ``plan`` takes no state lock.

    A plan only reads the state, and the plan identity may not write the lock table (PR code
    could delete an apply's lock). Unlocked, a plan may read the state an apply is writing;
    S3 serves the old or the new object whole, and the apply of that plan refuses it anyway
    once the serial moved (``runners/steps/terraform.py::stale_reason``).
    """
    if step.kind == "terraform_init" and step.params.get("backend", True):
        backend_config = s3_backend_config(run.repo, config.terraform, settings)
        if backend_config and "backend_config" not in step.params:
            params = {**step.params, "backend_config": backend_config}
            return step.model_copy(update={"params": params})
    if step.kind == "terraform_plan" and settings.state_bucket:
        return step.model_copy(update={"params": {**step.params, "lock": False}})
    return step


def _local_playbook(step: StepSpec, data_dir: str) -> StepSpec:
    """Local mode has no hosts to configure: the playbook writes the hosts' configuration
    under ``<data_dir>/hosts`` and never calls docker (ansible/README.md, local mode)."""
    if step.kind != "ansible_playbook":
        return step
    local = {
        "tags": "config",
        "extra_vars": {
            "ansible_become": "false",
            "maestrops_root": f"{data_dir}/hosts",
            "maestrops_compose_up": "false",
            "grafana_admin_password": secrets.token_urlsafe(18),
        },
    }
    return step.model_copy(update={"params": {**local, **step.params}})


def _ssm_playbook(step: StepSpec, settings: Settings) -> StepSpec:
    """In AWS the runner reaches the hosts through SSM (amazon.aws.aws_ssm), keeping the
    inventory's groups and variables that the playbooks use; files move through the bucket."""
    if step.kind != "ansible_playbook":
        return step
    aws = {
        "connection": "amazon.aws.aws_ssm",
        "extra_vars": {
            "ansible_aws_ssm_bucket_name": settings.artifacts_bucket,
            "ansible_aws_ssm_region": settings.region,
        },
    }
    return step.model_copy(update={"params": {**aws, **step.params}})
