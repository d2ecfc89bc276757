"""ECS backend: a Fargate ``RunTask`` of the runner image with the job in container overrides."""

from __future__ import annotations

from typing import Any

from chalicelib.backends.base import DispatchError, RunnerRef, RunnerState
from chalicelib.backends.codebuild import role_for, runner_roles
from chalicelib.jobs import RUNNER_COMMAND, JobSpec, RunnerIdentity, job_env
from chalicelib.settings import Settings

_RUNNING = {"RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING"}
_PENDING = {"PROVISIONING", "PENDING", "ACTIVATING"}


def build_run_task_kwargs(
    job: JobSpec,
    cluster: str,
    task_definition: str,
    subnets: list[str],
    security_groups: list[str],
    container: str = "runner",
    roles: dict[RunnerIdentity, str] | None = None,
) -> dict[str, Any]:
    environment = [{"name": k, "value": v} for k, v in job_env(job).items()]
    overrides: dict[str, Any] = {
        "containerOverrides": [
            {"name": container, "command": list(RUNNER_COMMAND), "environment": environment}
        ]
    }
    role = role_for(job, roles or {})
    if role:
        overrides["taskRoleArn"] = role
    return {
        "cluster": cluster,
        "taskDefinition": task_definition,
        "launchType": "FARGATE",
        "count": 1,
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": subnets,
                "securityGroups": security_groups,
                "assignPublicIp": "DISABLED",
            }
        },
        "overrides": overrides,
        "startedBy": f"maestrops/{job.run_id}"[:128],
        "tags": [{"key": "maestrops:run-id", "value": job.run_id}],
        "propagateTags": "TASK_DEFINITION",
    }


def task_state(task: dict[str, Any], container: str = "runner") -> RunnerState:
    """A task (API ``describeTasks`` or the event detail; same keys) as a RunnerState."""
    last = task.get("lastStatus", "")
    if last in _PENDING:
        return "pending"
    if last in _RUNNING:
        return "running"
    if last != "STOPPED":
        return "unknown"
    if task.get("stopCode") == "UserInitiated":
        return "stopped"
    codes = [c.get("exitCode") for c in task.get("containers", []) if c.get("name") == container]
    if not codes or codes[0] is None:
        return "failed"  # never started (image pull, capacity) or killed without an exit code
    return "succeeded" if codes[0] == 0 else "failed"


class EcsBackend:
    name = "ecs"

    def __init__(
        self,
        cluster: str,
        task_definition: str,
        subnets: list[str],
        security_groups: list[str],
        container: str = "runner",
        client=None,
        roles: dict[RunnerIdentity, str] | None = None,
    ) -> None:
        self.roles: dict[RunnerIdentity, str] = roles or {}
        self.cluster = cluster
        self.task_definition = task_definition
        self.subnets = subnets
        self.security_groups = security_groups
        self.container = container
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> EcsBackend:
        return cls(
            settings.ecs_cluster,
            settings.ecs_task_definition,
            settings.ecs_subnets,
            settings.ecs_security_groups,
            roles=runner_roles(settings),
        )

    @property
    def client(self):
        if self._client is None:
            import boto3

            self._client = boto3.client("ecs")
        return self._client

    def start(self, job: JobSpec) -> RunnerRef:
        from botocore.exceptions import ClientError

        kwargs = build_run_task_kwargs(
            job, self.cluster, self.task_definition, self.subnets, self.security_groups,
            self.container, self.roles,
        )  # fmt: skip
        try:
            response = self.client.run_task(**kwargs)
        except ClientError as exc:
            raise DispatchError(f"ECS RunTask failed: {exc}") from exc
        if not response.get("tasks"):
            raise DispatchError(f"ECS RunTask started nothing: {response.get('failures')}")
        return RunnerRef(backend=self.name, id=response["tasks"][0]["taskArn"])

    def status(self, ref: RunnerRef) -> RunnerState:
        tasks = self.client.describe_tasks(cluster=self.cluster, tasks=[ref.id]).get("tasks")
        return task_state(tasks[0], self.container) if tasks else "unknown"

    def cancel(self, ref: RunnerRef) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.stop_task(cluster=self.cluster, task=ref.id, reason="cancelled")
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "InvalidParameterException":
                raise DispatchError(f"ECS StopTask failed: {exc}") from exc
