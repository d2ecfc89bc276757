"""SSM backend: the runner on a runner host (an EC2 instance) through ``AWS-RunShellScript``."""

from __future__ import annotations

import shlex
from typing import Any

from chalicelib.backends.base import DispatchError, RunnerRef, RunnerState
from chalicelib.jobs import ENV_RUN_ID, RUNNER_COMMAND, JobSpec, job_env
from chalicelib.settings import Settings

_STATES: dict[str, RunnerState] = {
    "Pending": "pending",
    "InProgress": "running",
    "Delayed": "running",
    "Success": "succeeded",
    "Failed": "failed",
    "TimedOut": "failed",
    "Cancelling": "stopped",
    "Cancelled": "stopped",
    "DeliveryTimedOut": "failed",
    "ExecutionTimedOut": "failed",
    "Undeliverable": "failed",
    "Terminated": "failed",
}


def command_state(status: str) -> RunnerState:
    return _STATES.get(status, "unknown")


def build_send_command_kwargs(
    job: JobSpec,
    instance_ids: list[str],
    runner_dir: str = "/opt/maestrops",
    output_bucket: str | None = None,
) -> dict[str, Any]:
    """The runner is installed under ``runner_dir`` on the host; the job goes in its env.

    The first command names the run id so the status-change event maps back to the run.
    """
    exports = [f"export {k}={shlex.quote(v)}" for k, v in job_env(job).items()]
    python = f"{runner_dir}/.venv/bin/python"
    commands = [
        *exports,
        f"cd {shlex.quote(runner_dir)}",
        shlex.join([python, *RUNNER_COMMAND[1:]]),
    ]
    kwargs: dict[str, Any] = {
        "InstanceIds": instance_ids,
        "DocumentName": "AWS-RunShellScript",
        "Parameters": {
            "commands": commands,
            "executionTimeout": [str(job.timeout_minutes * 60)],
        },
        "TimeoutSeconds": 600,  # delivery timeout; execution has its own
        "Comment": f"maestrops run {job.run_id}"[:100],
    }
    if output_bucket:
        # SSM's API returns only the first 24,000 characters of output; S3 keeps all of it.
        kwargs["OutputS3BucketName"] = output_bucket
        kwargs["OutputS3KeyPrefix"] = f"runs/{job.run_id}/ssm"
    return kwargs


def run_id_from_commands(commands: list[str]) -> str | None:
    prefix = f"export {ENV_RUN_ID}="
    for line in commands:
        if line.startswith(prefix):
            return shlex.split(line.removeprefix("export "))[0].partition("=")[2]
    return None


class SsmBackend:
    name = "ssm"

    def __init__(
        self,
        instance_ids: list[str],
        output_bucket: str | None = None,
        runner_dir: str = "/opt/maestrops",
        client=None,
    ) -> None:
        self.instance_ids = instance_ids
        self.output_bucket = output_bucket
        self.runner_dir = runner_dir
        self._client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> SsmBackend:
        return cls(settings.ssm_instance_ids, settings.artifacts_bucket)

    @property
    def client(self):
        if self._client is None:
            import boto3

            self._client = boto3.client("ssm")
        return self._client

    def start(self, job: JobSpec) -> RunnerRef:
        from botocore.exceptions import ClientError

        if not self.instance_ids:
            raise DispatchError("SSM backend has no runner instance (MAESTRO_SSM_INSTANCE_IDS)")
        kwargs = build_send_command_kwargs(
            job, self.instance_ids, self.runner_dir, self.output_bucket
        )
        try:
            command = self.client.send_command(**kwargs)["Command"]
        except ClientError as exc:
            raise DispatchError(f"SSM SendCommand failed: {exc}") from exc
        return RunnerRef(backend=self.name, id=command["CommandId"])

    def status(self, ref: RunnerRef) -> RunnerState:
        commands = self.client.list_commands(CommandId=ref.id).get("Commands") or []
        return command_state(commands[0]["Status"]) if commands else "unknown"

    def cancel(self, ref: RunnerRef) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.cancel_command(CommandId=ref.id)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("InvalidCommandId", "InvalidInstanceId"):
                raise DispatchError(f"SSM CancelCommand failed: {exc}") from exc
