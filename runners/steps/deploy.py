"""The compose deploy step: ``runners/scripts/compose-deploy.sh`` on the app hosts via SSM."""

from __future__ import annotations

from pathlib import Path

from chalicelib.jobs import StepSpec
from runners.context import RunContext, StepOutcome
from runners.exceptions import StepFailedError, StepSkippedError
from runners.process import ProcessRunner
from runners.ssm_commands import build_shell_script_kwargs, run_command
from runners.tools import find_tool
from runners.workspace import inside

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "compose-deploy.sh"


DEFAULT_APP_DIR = "/opt/maestrops/app"


def script_args(params: dict, app_dir: str) -> list[str]:
    """Arguments of compose-deploy.sh; the compose file sits in ``app_dir`` on the host."""
    args = ["--app-dir", app_dir, "--secret-id", params["secret_id"]]
    args += ["--compose-file", Path(params.get("compose_file", "docker-compose.yml")).name]
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


def deploy_params(ctx: RunContext, params: dict) -> dict:
    """The step's parameters completed from the job's (secret id, domain for the health URL)."""
    job = ctx.job.parameters
    merged = {"secret_id": job.get("secret_id") or f"maestrops/{ctx.job.repo}/app", **params}
    if "health_url" not in merged and merged.get("health_path"):
        merged["health_url"] = "http://127.0.0.1" + merged["health_path"]  # Traefik on the host
        merged.setdefault("health_host", job.get("domain"))
    return merged


def compose_deploy(ctx: RunContext, step: StepSpec, proc: ProcessRunner) -> StepOutcome:
    params = deploy_params(ctx, step.params)
    if ctx.local_mode:
        reason = engine_reason(ctx, proc)
        if reason:
            raise StepSkippedError(reason)
        app_dir = inside(ctx.repo_dir, ctx.job.working_dir, "application.dir")
        done = proc.run(["bash", str(SCRIPT), *script_args(params, str(app_dir))])
        if done.returncode != 0:
            raise StepFailedError(f"compose deploy exited {done.returncode}", done.returncode)
        return StepOutcome()
    return _deploy_ssm(ctx, params)


def _deploy_ssm(ctx: RunContext, params: dict) -> StepOutcome:
    import boto3  # lazy: only AWS runs reach here

    kwargs = build_shell_script_kwargs(
        SCRIPT,
        script_args(params, params.get("app_dir", DEFAULT_APP_DIR)),
        params.get("tag_key", "Role"),
        params.get("tag_value", "app"),
        output_prefix=ctx.store.prefix + "ssm/deploy",
    )
    command_id, status = run_command(boto3.client("ssm"), kwargs)
    if status != "Success":
        raise StepFailedError(f"SSM command {command_id} ended {status}", 1)
    return StepOutcome(reason=f"SSM {command_id}")
