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
from chalicelib.pipelines.config import CONFIG_PATH, parse_config
from chalicelib.pipelines.steps import steps_for, working_dir_for


def _head(event: Mapping[str, Any], env: Mapping[str, str]) -> tuple[str, str | None, int | None]:
    """(sha, branch, pr): a pull request's head, else the pushed commit."""
    pr = event.get("pull_request")
    if pr:
        return pr["head"]["sha"], pr["head"]["ref"], pr["number"]
    return env["GITHUB_SHA"], env.get("GITHUB_REF_NAME"), None


def _steps(pipeline: Pipeline, config_text: str | None) -> list[StepSpec]:
    steps = steps_for(pipeline, parse_config(config_text))
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
    config_text = config_file.read_text() if config_file.exists() else None
    sha, branch, pr = _head(event, env)
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
        working_dir=working_dir_for(pipeline, parse_config(config_text)),
        steps=_steps(pipeline, config_text),
        parameters=_parameters(env),
        artifact_prefix=prefix.rstrip("/") + "/",
        callback=callback,
        backend="github-actions",
    )


def write_job(pipeline: str, out: Path, env: Mapping[str, str]) -> JobSpec:
    event_path = env.get("GITHUB_EVENT_PATH")
    event = json.loads(Path(event_path).read_text()) if event_path else {}
    workspace = Path(env.get("GITHUB_WORKSPACE", "."))
    job = job_from_actions(Pipeline(pipeline), env, event, workspace)
    out.write_text(job.model_dump_json(indent=2))
    return job
