"""The contract between the controller and the runners: what a job is, what a runner reports.

``runners/`` imports these models and nothing else of the controller's handlers. Both sides
serialize them as JSON (``JobSpec.model_dump_json()`` / ``JobSpec.model_validate_json()``).
"""

from __future__ import annotations

import base64
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.event_types import (
    DETAIL_HEARTBEAT,
    DETAIL_RUN_FINISHED,
    DETAIL_RUN_STARTED,
    DETAIL_STEP_FINISHED,
    DETAIL_STEP_STARTED,
    RUNNER_SOURCE,
)


class Pipeline(StrEnum):
    TERRAFORM_VALIDATE = "terraform-validate"
    TERRAFORM_PLAN = "terraform-plan"
    TERRAFORM_APPLY = "terraform-apply"
    ANSIBLE_MONITORING = "ansible-monitoring"
    CI_APPLICATION = "ci-application"
    CD_APPLICATION = "cd-application"


# The runner backends the controller can start (``backends/registry.py`` maps each to its
# class); ``.gitops.yml`` may choose one per pipeline.
RunnerBackendName = Literal["local", "codebuild", "ecs", "ssm", "recording"]
# The AWS identity a runner runs as (``pipelines/identity.py`` chooses; docs/security.md):
# "plan" reads, "apply" writes the state and the stack. Unset means plan.
RunnerIdentity = Literal["plan", "apply"]

StepKind = Literal[
    "terraform_fmt",  # terraform fmt -check -recursive
    "terraform_init",  # params: backend (bool), backend_config (dict)
    "terraform_validate",
    "terraform_plan",  # plan -out, -detailed-exitcode; show -json; plan summary artifact
    "cost_estimate",  # Infracost when available, else the built-in estimator
    "terraform_apply",  # applies the reviewed plan artifact (params: plan_run_id)
    "terraform_output",  # output -json
    "inventory",  # inventory.ini from the Terraform outputs
    "ansible_playbook",  # params: playbook, inventory
    "image_build",  # params: images [{name, context, dockerfile}], registry
    "compose_rewrite",  # params: compose_file; commits back with COMPOSE_COMMIT_MARKER
    "compose_deploy",  # params: compose_file, health_url
]

# Routing ignores pushes whose head commit message carries this marker, so the commit that
# ci-application pushes back to its branch never starts ci-application again.
COMPOSE_COMMIT_MARKER = "[maestro-bot]"


class StepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    kind: StepKind
    params: dict[str, Any] = Field(default_factory=dict)


class Callback(BaseModel):
    """Where the runner reports: an EventBridge bus (AWS) or a directory (local mode)."""

    event_bus: str = "default"
    source: str = RUNNER_SOURCE
    local_dir: str | None = None


class JobSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: str
    pipeline: Pipeline
    repo: str  # owner/name
    clone_url: str  # https URL (token auth) or a local path in local mode
    sha: str
    branch: str | None = None
    pr: int | None = None
    run_number: int
    working_dir: str = "."  # Terraform directory or app directory inside the repository
    workspace: str = "default"
    steps: list[StepSpec]
    parameters: dict[str, str] = Field(default_factory=dict)
    artifact_prefix: str  # s3://bucket/runs/<run_id>/ or file:///path/ in local mode
    callback: Callback = Field(default_factory=Callback)
    backend: str = "local"
    timeout_minutes: int = 60
    previous_run_id: str | None = None  # for apply: the plan run whose artifact is applied
    identity: RunnerIdentity = "plan"
    # A GitHub installation token scoped to ``repo`` (contents read, or write for
    # ci-application's push). Never serialized with the job: ``job_env`` hands it over as
    # its own secret-named variable, which the runner masks and keeps from every tool.
    git_token: str | None = Field(default=None, exclude=True, repr=False)


__all__ = [
    "COMPOSE_COMMIT_MARKER",
    "DETAIL_HEARTBEAT",
    "DETAIL_RUN_FINISHED",
    "DETAIL_RUN_STARTED",
    "DETAIL_STEP_FINISHED",
    "DETAIL_STEP_STARTED",
    "ENV_GIT_TOKEN",
    "ENV_JOB",
    "ENV_JOB_URI",
    "ENV_RUN_ID",
    "RUNNER_COMMAND",
    "Callback",
    "JobSpec",
    "Pipeline",
    "RunOutcome",
    "RunnerEvent",
    "StepResult",
    "StepSpec",
    "job_env",
]

StepStatus = Literal["succeeded", "failed", "skipped"]
# What a successful run achieved: ``nothing-done`` when every step that acts (all but the
# preparation steps init, output, inventory) was skipped, e.g. a deploy with no container
# engine. The run still succeeded; the controller must not report it as done.
RunOutcome = Literal["done", "nothing-done"]


class StepResult(BaseModel):
    name: str
    kind: StepKind
    status: StepStatus
    exit_code: int | None = None
    reason: str | None = None  # why skipped or failed, one line
    log_tail: str = ""  # last lines of the log, redacted
    duration_seconds: float = 0.0
    artifacts: dict[str, str] = Field(default_factory=dict)  # name -> URI


class RunnerEvent(BaseModel):
    """The ``detail`` of a runner event."""

    run_id: str
    sequence: int = 0  # grows with every event of a run; older ones are ignored
    status: Literal["running", "succeeded", "failed", "unknown"] | None = None
    step: StepResult | None = None
    current_step: str | None = None  # "step started": the step now running
    failed_step: str | None = None
    reason: str | None = None  # why the run failed where no step result says (the checkout)
    outcome: RunOutcome | None = None  # run finished with "succeeded": did it do anything?
    outcome_reason: str | None = None  # nothing-done: the skipped steps and why, one line
    artifacts: dict[str, str] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    # Crash safety for applies: the Terraform state serial/lineage read just before the apply
    # (sent before it starts) and, where readable, after it. A run whose runner dies
    # mid-apply ends ``unknown`` with these on the record.
    state_serial_before: int | None = None
    state_serial_after: int | None = None
    state_lineage: str | None = None


# How a job travels to a runner in a container or on a host (CodeBuild, ECS, SSM): the JSON
# in base64 (quotes and newlines survive every layer) and the run id on its own, which the
# services' state-change events carry back.
ENV_JOB = "MAESTRO_JOB"
ENV_JOB_URI = "MAESTRO_JOB_URI"  # an s3:// URI instead, for jobs too large for the env
ENV_RUN_ID = "MAESTRO_RUN_ID"
ENV_GIT_TOKEN = "MAESTRO_GIT_TOKEN"  # the job's git_token, read by runners.workspace
RUNNER_COMMAND = ("python", "-m", "runners", "run", "--job", "env")

# A step's log while it runs, under the run's artifact prefix: redacted chunks of at most
# LOG_CHUNK_BYTES, numbered from 0, then a marker holding the chunk count once the step ends.
LOG_CHUNK_BYTES = 64 * 1024


def log_chunk_name(step: str, seq: int) -> str:
    return f"logs/{step}/{seq:06d}.log"


def log_complete_name(step: str) -> str:
    return f"logs/{step}/complete"


def job_env(job: JobSpec) -> dict[str, str]:
    """The environment variables that hand ``job`` to ``python -m runners run --job env``."""
    encoded = base64.b64encode(job.model_dump_json().encode()).decode()
    env = {ENV_JOB: encoded, ENV_RUN_ID: job.run_id}
    if job.git_token:
        env[ENV_GIT_TOKEN] = job.git_token
    return env
