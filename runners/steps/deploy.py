"""The compose deploy step: ``runners/scripts/compose-deploy.sh`` on the app hosts via SSM.

In AWS the command carries what the host needs from the deployed commit (the compose file
and the Traefik routes, as a small tar.gz); the host reads the application's secret itself.
"""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

from chalicelib.jobs import StepSpec
from runners.context import RunContext, StepOutcome
from runners.exceptions import StepFailedError, StepSkippedError
from runners.process import ProcessRunner
from runners.registry import ECR_HOST, registry_host
from runners.ssm_commands import build_shell_script_kwargs, run_command, tagged_instances
from runners.tools import find_tool
from runners.workspace import inside

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "compose-deploy.sh"

DEFAULT_APP_DIR = "/opt/maestrops/app"
ENV_APP_SECRET = "MAESTRO_APP_SECRET"  # the application's secret, set by terraform/controller
# What the backend's /api/health says, so a 200 from anything else (Traefik, the frontend's
# catch-all page) is no proof that the backend answered.
DEFAULT_HEALTH_EXPECT = '"service":"notes-api"'
ROUTES_DIR = Path("traefik") / "dynamic"
BUNDLE_MAX_BYTES = 48 * 1024
_SECRET_ID = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")


def script_args(params: dict, app_dir: str) -> list[str]:
    """Arguments of compose-deploy.sh; the compose file sits in ``app_dir`` on the host."""
    args = ["--app-dir", app_dir, "--secret-id", params["secret_id"]]
    args += ["--compose-file", Path(params.get("compose_file", "docker-compose.yml")).name]
    for name in ("health_url", "health_host", "health_expect", "ecr_registry", "registry",
                 "registry_secret"):  # fmt: skip
        if params.get(name):
            args += ["--" + name.replace("_", "-"), params[name]]
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
    """The step's parameters completed from the job's and the runner's settings.

    The secret is the operator's (``MAESTRO_APP_SECRET``) unless the job names one. The
    health URL is the backend's path through Traefik on the host; over HTTPS once the host
    has a domain (the job's, else the secret's ``APP_DOMAIN``, which the script reads).
    """
    job = ctx.job.parameters
    secret = job.get("secret_id") or ctx.env.get(ENV_APP_SECRET) or f"maestrops/{ctx.job.repo}/app"
    if not _SECRET_ID.match(secret):
        raise StepFailedError(f"application secret id {secret!r} is not a secret name or ARN", 1)
    merged = {"secret_id": secret, "health_expect": DEFAULT_HEALTH_EXPECT, **params}
    if "health_url" not in merged and merged.get("health_path"):
        scheme = "http" if ctx.local_mode else "https"
        merged["health_url"] = f"{scheme}://127.0.0.1{merged['health_path']}"
        merged.setdefault("health_host", job.get("domain"))
    registry = job.get("registry") or ctx.env.get("MAESTRO_REGISTRY")
    if registry and not ctx.local_mode:
        host = registry_host(registry)
        login = job.get("registry_secret") or ctx.env.get("MAESTRO_REGISTRY_SECRET")
        if login:  # the hosts log in with the registry's secret, read there
            merged.setdefault("registry", host)
            merged.setdefault("registry_secret", login)
        elif ECR_HOST.match(host):
            merged.setdefault("ecr_registry", host)
    return merged


def deploy_bundle(compose: Path, checkout: Path) -> bytes:
    """The compose file and the Traefik routes beside it (``traefik/dynamic/``), as the host
    unpacks them into its app directory: regular files only, owned by nobody in particular."""
    checkout = checkout.resolve()
    base = compose.parent
    members = [(compose, compose.name)]
    routes = base / ROUTES_DIR
    if routes.is_dir():
        for path in sorted(routes.rglob("*")):
            checked = inside(checkout, path.relative_to(checkout), "Traefik route")
            if checked.is_file():
                members.append((checked, str(path.relative_to(base))))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for path, name in members:
            info = tarfile.TarInfo(name)
            data = path.read_bytes()
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    if out.tell() > BUNDLE_MAX_BYTES:
        raise StepFailedError(
            f"the compose file and routes take {out.tell()} bytes compressed; "
            f"an SSM command carries at most {BUNDLE_MAX_BYTES}",
            1,
        )
    return out.getvalue()


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
    from runners.steps.images import resolve_in_checkout

    compose = resolve_in_checkout(ctx, params.get("compose_file", "docker-compose.yml"))
    kwargs = build_shell_script_kwargs(
        SCRIPT,
        script_args(params, params.get("app_dir", DEFAULT_APP_DIR)),
        params.get("tag_key", "Role"),
        params.get("tag_value", "app"),
        output_prefix=ctx.store.prefix + "ssm/deploy",
        bundle=deploy_bundle(compose, ctx.repo_dir),
    )
    import boto3  # lazy: only AWS runs reach here

    instances = tagged_instances(boto3.client("ec2"), kwargs.pop("Targets"))
    if not instances:
        raise StepFailedError(
            f"NoInstances: no running host tagged {params.get('tag_key', 'Role')}="
            f"{params.get('tag_value', 'app')} to deploy to",
            1,
        )
    command_id, status = run_command(boto3.client("ssm"), {**kwargs, "InstanceIds": instances})
    on = ", ".join(instances)
    if status != "Success":
        raise StepFailedError(f"SSM command {command_id} on {on} ended {status}", 1)
    return StepOutcome(reason=f"SSM {command_id} on {on}")
