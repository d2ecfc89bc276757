"""CodeBuild backend: ``StartBuild`` with the job in environment overrides."""

from __future__ import annotations

from typing import Any

from chalicelib.backends.base import DispatchError, RunnerRef, RunnerState
from chalicelib.jobs import JobSpec, RunnerIdentity, job_env
from chalicelib.settings import Settings

_STATES: dict[str, RunnerState] = {
    "IN_PROGRESS": "running",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "FAULT": "failed",
    "TIMED_OUT": "failed",
    "STOPPED": "stopped",
}


def role_for(job: JobSpec, roles: dict[RunnerIdentity, str]) -> str:
    """The role ARN of the job's identity; "" leaves the project's or task's own role, which
    terraform/controller makes the plan identity, so a missing ARN never grants more."""
    return roles.get(job.identity, "")


def build_start_build_kwargs(
    job: JobSpec, project_name: str, roles: dict[RunnerIdentity, str] | None = None
) -> dict[str, Any]:
    """The project (terraform/controller) carries ``runners/buildspec.yml`` as its buildspec
    and the runner image; each build only brings its job and, per run, its identity."""
    env = [{"name": k, "value": v, "type": "PLAINTEXT"} for k, v in job_env(job).items()]
    kwargs: dict[str, Any] = {
        "projectName": project_name,
        "environmentVariablesOverride": env,
        "timeoutInMinutesOverride": job.timeout_minutes,
        # A retried dispatch of the same run within CodeBuild's window starts no second build.
        "idempotencyToken": job.run_id,
    }
    role = role_for(job, roles or {})
    if role:
        kwargs["serviceRoleOverride"] = role
    return kwargs


def runner_roles(settings: Settings) -> dict[RunnerIdentity, str]:
    return {"plan": settings.runner_plan_role_arn, "apply": settings.runner_apply_role_arn}


def build_state(status: str) -> RunnerState:
    """CodeBuild's ``buildStatus`` (API) or ``build-status`` (event) as a RunnerState."""
    return _STATES.get(status, "unknown")


class CodeBuildBackend:
    name = "codebuild"

    def __init__(
        self,
        project_name: str = "maestrops-runner",
        client=None,
        roles: dict[RunnerIdentity, str] | None = None,
    ) -> None:
        self.project_name = project_name
        self._client = client
        self.roles: dict[RunnerIdentity, str] = roles or {}

    @classmethod
    def from_settings(cls, settings: Settings) -> CodeBuildBackend:
        return cls(settings.codebuild_project, roles=runner_roles(settings))

    @property
    def client(self):
        if self._client is None:
            import boto3

            self._client = boto3.client("codebuild")
        return self._client

    def start(self, job: JobSpec) -> RunnerRef:
        from botocore.exceptions import ClientError

        try:
            kwargs = build_start_build_kwargs(job, self.project_name, self.roles)
            build = self.client.start_build(**kwargs)
        except ClientError as exc:
            raise DispatchError(f"CodeBuild StartBuild failed: {exc}") from exc
        return RunnerRef(backend=self.name, id=build["build"]["id"])

    def status(self, ref: RunnerRef) -> RunnerState:
        builds = self.client.batch_get_builds(ids=[ref.id]).get("builds") or []
        return build_state(builds[0]["buildStatus"]) if builds else "unknown"

    def cancel(self, ref: RunnerRef) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.stop_build(id=ref.id)
        except ClientError as exc:
            # Stopping a build that already ended is not an error for the controller.
            if exc.response["Error"]["Code"] not in (
                "InvalidInputException",
                "ResourceNotFoundException",
            ):
                raise DispatchError(f"CodeBuild StopBuild failed: {exc}") from exc
