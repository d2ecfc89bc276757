"""What the deploy step asks of the host script, from the runner's settings (terraform sets
MAESTRO_REGISTRY, MAESTRO_REGISTRY_SECRET and MAESTRO_APP_SECRET on the runners)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.jobs import JobSpec, StepSpec
from runners.context import RunContext
from runners.exceptions import StepFailedError
from runners.steps.deploy import deploy_params, script_args

ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


def context(env: dict[str, str], **parameters: str) -> RunContext:
    job = JobSpec(
        run_id="cd-1", pipeline="cd-application", repo="acme/shop", clone_url="https://x/y.git",
        sha="a" * 40, run_number=1, steps=[StepSpec(name="deploy", kind="compose_deploy")],
        artifact_prefix="s3://bucket/runs/cd-1/", parameters=parameters,
    )  # fmt: skip
    return RunContext(job, Path("/nonexistent"), Path("/nonexistent"), None, None, env)  # type: ignore[arg-type]


def args_for(env: dict[str, str], **parameters: str) -> list[str]:
    ctx = context(env, **parameters)
    return script_args(deploy_params(ctx, {"health_path": "/api/health"}), "/opt/app")


def test_ecr_means_a_login_with_the_hosts_identity():
    args = args_for({"MAESTRO_REGISTRY": f"{ECR}/maestrops-prod", "MAESTRO_APP_SECRET": "m/p/app"})
    assert args[:4] == ["--app-dir", "/opt/app", "--secret-id", "m/p/app"]
    assert args[args.index("--ecr-registry") + 1] == ECR
    assert "--registry" not in args
    assert args[args.index("--health-url") + 1] == "https://127.0.0.1/api/health"
    assert args[args.index("--health-expect") + 1] == '"service":"notes-api"'


def test_another_registry_means_a_login_with_its_secret():
    env = {"MAESTRO_REGISTRY": "registry.example.com/team", "MAESTRO_REGISTRY_SECRET": "m/p/reg"}
    args = args_for(env)
    assert args[args.index("--registry") + 1] == "registry.example.com"
    assert args[args.index("--registry-secret") + 1] == "m/p/reg"
    assert "--ecr-registry" not in args


def test_hostile_settings_are_refused():
    with pytest.raises(StepFailedError, match="is not host"):
        args_for({"MAESTRO_REGISTRY": "registry.example.com --privileged"})
    with pytest.raises(StepFailedError, match="not a secret name"):
        args_for({}, secret_id="app; rm -rf /")
