"""The compose deploy step: ``runners/scripts/compose-deploy.sh`` on the app hosts via SSM."""

from __future__ import annotations

from pathlib import Path

from chalicelib.jobs import StepSpec
from runners.context import RunContext, StepOutcome
from runners.exceptions import StepFailedError, StepSkippedError
from runners.process import ProcessRunner
from runners.ssm_commands import build_shell_script_kwargs, run_command
from runners.tools import find_tool

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "compose-deploy.sh"


def script_args(params: dict, app_dir: str) -> list[str]:
    args = ["--app-dir", app_dir, "--secret-id", params["secret_id"]]
    args += ["--compose-file", params.get("compose_file", "docker-compose.yml")]
    if params.get("health_url"):
        args += ["--health-url", params["health_url"]]
    if params.get("health_host"):
        args += ["--health-host", params["health_host"]]
    return args


def engine_reason(ctx: RunContext, proc: ProcessRunner) -> str | None:
    """Why no container engine can run the stack here, or None when one answers."""
    docker = find_tool("docker", ctx.env)
    if not docker:
        return "no container engine: docker is not installed on this machine"
    done = proc.run([docker, "info"], capture=True)
    if done.returncode != 0:
        return f"no container engine answers (docker info exited {done.returncode})"
    return None


def compose_deploy(ctx: RunContext, step: StepSpec, proc: ProcessRunner) -> StepOutcome:
    if ctx.local_mode:
        reason = engine_reason(ctx, proc)
        if reason:
            raise StepSkippedError(reason)
        done = proc.run(["bash", str(SCRIPT), *script_args(step.params, str(ctx.work_dir))])
        if done.returncode != 0:
            raise StepFailedError(f"compose deploy exited {done.returncode}", done.returncode)
        return StepOutcome()
    return _deploy_ssm(ctx, step)


def _deploy_ssm(ctx: RunContext, step: StepSpec) -> StepOutcome:
    import boto3  # lazy: only AWS runs reach here

    kwargs = build_shell_script_kwargs(
        SCRIPT,
        script_args(step.params, step.params.get("app_dir", "/opt/app")),
        step.params.get("tag_key", "Role"),
        step.params.get("tag_value", "app"),
        output_prefix=ctx.store.prefix + "ssm/deploy",
    )
    command_id, status = run_command(boto3.client("ssm"), kwargs)
    if status != "Success":
        raise StepFailedError(f"SSM command {command_id} ended {status}", 1)
    return StepOutcome(reason=f"SSM {command_id}")
