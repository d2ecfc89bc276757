"""A JobSpec from a GitHub Actions run, so the seed workflows call the same runner.

The steps come from the controller's own pipeline definitions and ``.gitops.yml``; the
artifacts and events stay in the Actions runner's temp directory unless an S3 bucket or an
EventBridge bus is configured.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chalicelib.jobs import Callback, JobSpec, Pipeline, StepSpec
from chalicelib.pipelines.config import CONFIG_PATH, GitOpsConfig, parse_config
from chalicelib.pipelines.state import s3_backend_config
from chalicelib.pipelines.steps import steps_for, working_dir_for
from chalicelib.settings import Settings
from runners.context import ACTIONS_BACKEND


def _head(event: Mapping[str, Any], env: Mapping[str, str]) -> tuple[str, str | None, int | None]:
    """(sha, branch, pr): an open pull request's head; for a merged one, the merge commit on
    its base branch (what terraform-apply and cd-application must run, not the PR's head);
    else the pushed commit."""
    pr = event.get("pull_request")
    if pr and pr.get("merged"):
        sha = pr.get("merge_commit_sha") or env["GITHUB_SHA"]
        return sha, pr["base"]["ref"], pr["number"]
    if pr:
        return pr["head"]["sha"], pr["head"]["ref"], pr["number"]
    return env["GITHUB_SHA"], env.get("GITHUB_REF_NAME"), None


# The Terraform state backend of an Actions repository, from its secrets under the names the
# controller's settings use (runner.yml passes them; its linter predates `vars`): the bucket,
# region and lock table that terraform/bootstrap created, and the controller's key layout
# (``.gitops.yml``'s terraform.backend.key under stacks/<owner>/<name>/). The
# MAESTRO_STATE_BACKEND_CONFIG lines add `-backend-config` values (an S3-compatible endpoint,
# force_path_style, a role to assume).
ENV_STATE_EXTRA = "MAESTRO_STATE_BACKEND_CONFIG"


def state_backend_config(env: Mapping[str, str], repo: str, config: GitOpsConfig) -> dict[str, str]:
    """``-backend-config`` values for ``terraform init``; empty without a state bucket.

    >>> env = {"MAESTRO_STATE_BUCKET": "tfstate", "AWS_REGION": "eu-west-1"}
    >>> state_backend_config(env, "acme/infra", parse_config(None))["key"]
    'stacks/acme/infra/terraform/infra/default.tfstate'
    """
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or ""
    settings = Settings(
        state_bucket=env.get("MAESTRO_STATE_BUCKET", ""),
        state_region=env.get("MAESTRO_STATE_REGION", ""),
        state_lock_table=env.get("MAESTRO_STATE_LOCK_TABLE", ""),
        region=region,
    )
    backend = s3_backend_config(repo, config.terraform, settings)
    if not backend:
        return {}
    if not backend.get("region"):
        del backend["region"]
    for line in env.get(ENV_STATE_EXTRA, "").splitlines():
        name, eq, value = line.strip().partition("=")
        if not eq or not name.strip():
            if line.strip() and not line.strip().startswith("#"):
                raise ValueError(f"{ENV_STATE_EXTRA}: {line.strip()!r} is not key=value")
            continue
        backend[name.strip()] = value.strip()
    return backend


def _aws_params(step: StepSpec, env: Mapping[str, str], backend: dict[str, str]) -> StepSpec:
    """What an Actions run adds to the controller's steps: the state backend for ``init``,
    and for the playbooks the SSM connection with its region and file transfer bucket."""
    if step.kind == "terraform_init" and step.params.get("backend", True) and backend:
        return step.model_copy(update={"params": {"backend_config": backend, **step.params}})
    if step.kind == "terraform_plan" and backend:
        # As the controller's plans: the plan role may not write the lock table.
        return step.model_copy(update={"params": {"lock": False, **step.params}})
    if step.kind == "ansible_playbook":
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        extra = {
            "ansible_aws_ssm_region": region,
            "ansible_aws_ssm_bucket_name": env.get("MAESTRO_SSM_BUCKET")
            or env.get("MAESTRO_ARTIFACTS_BUCKET"),
        }
        extra = {k: v for k, v in extra.items() if v}
        params = {"connection": "amazon.aws.aws_ssm", **step.params}
        params["extra_vars"] = {**extra, **(step.params.get("extra_vars") or {})}
        return step.model_copy(update={"params": params})
    return step


def _steps(pipeline: Pipeline, config: GitOpsConfig) -> list[StepSpec]:
    steps = steps_for(pipeline, config)
    if pipeline is Pipeline.TERRAFORM_APPLY:
        # Actions keeps no plan artifact between workflows: plan and apply in the same run.
        at = next(i for i, s in enumerate(steps) if s.kind == "terraform_apply")
        steps.insert(at, StepSpec(name="plan", kind="terraform_plan"))
    return steps


def _clone_url(env: Mapping[str, str], workspace: Path) -> str:
    """GitHub over https (the token in MAESTRO_GIT_TOKEN lets the runner push), else the
    workspace checkout."""
    if env.get("GITHUB_SERVER_URL") and env.get("GITHUB_REPOSITORY"):
        return f"{env['GITHUB_SERVER_URL']}/{env['GITHUB_REPOSITORY']}.git"
    return str(workspace)


def _parameters(env: Mapping[str, str]) -> dict[str, str]:
    """``MAESTRO_PARAM_REGISTRY=...`` -> ``{"registry": ...}`` (workflow-level settings)."""
    prefix = "MAESTRO_PARAM_"
    return {k.removeprefix(prefix).lower(): v for k, v in env.items() if k.startswith(prefix)}


def job_from_actions(
    pipeline: Pipeline, env: Mapping[str, str], event: Mapping[str, Any], workspace: Path
) -> JobSpec:
    config_file = workspace / CONFIG_PATH
    config = parse_config(config_file.read_bytes() if config_file.exists() else None)
    sha, branch, pr = _head(event, env)
    backend = state_backend_config(env, env["GITHUB_REPOSITORY"], config)
    run_id = f"gha-{env['GITHUB_RUN_ID']}-{env.get('GITHUB_RUN_ATTEMPT', '1')}"
    temp = Path(env.get("RUNNER_TEMP", "/tmp"))
    bucket = env.get("MAESTRO_ARTIFACTS_BUCKET")
    prefix = f"s3://{bucket}/runs/{run_id}/" if bucket else (temp / "maestro" / run_id).as_uri()
    callback = (
        Callback(event_bus=env["MAESTRO_EVENT_BUS"])
        if env.get("MAESTRO_EVENT_BUS")
        else Callback(local_dir=str(temp / "maestro" / "events"))
    )
    return JobSpec(
        run_id=run_id,
        pipeline=pipeline,
        repo=env["GITHUB_REPOSITORY"],
        clone_url=_clone_url(env, workspace),
        sha=sha,
        branch=branch,
        pr=pr,
        run_number=int(env["GITHUB_RUN_NUMBER"]),
        working_dir=working_dir_for(pipeline, config),
        workspace=config.terraform.workspace,
        steps=[_aws_params(step, env, backend) for step in _steps(pipeline, config)],
        parameters=_parameters(env),
        artifact_prefix=prefix.rstrip("/") + "/",
        callback=callback,
        backend=ACTIONS_BACKEND,
    )


def write_job(pipeline: str, out: Path, env: Mapping[str, str]) -> JobSpec:
    event_path = env.get("GITHUB_EVENT_PATH")
    event = json.loads(Path(event_path).read_text()) if event_path else {}
    workspace = Path(env.get("GITHUB_WORKSPACE", "."))
    job = job_from_actions(Pipeline(pipeline), env, event, workspace)
    out.write_text(job.model_dump_json(indent=2))
    return job
