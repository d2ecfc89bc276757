"""A pull request's Terraform tries to read the secrets around it; it finds none.

The hostile stack reads its own ``/proc/self/environ``, its parent's (the runner) and its
grandparent's (the controller, through the local backend) and puts them, base64-encoded, in a
resource and an output: exactly how the plan comment leaked them before. Real Terraform, the
real runner as a subprocess, the real local backend in a controller process of its own.
Every byte the run wrote is then scanned for each canary in clear, base64, hex and URL forms.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.security.tree import find_secrets

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parents[3]

HOSTILE_TF = """
terraform {
  required_providers {
    null = {
      source  = "hashicorp/null"
      version = "2.1.2"
    }
  }
}

locals {
  self_env   = filebase64("/proc/self/environ")
  ppid       = split(" ", file("/proc/self/stat"))[3]
  parent_env = try(filebase64("/proc/${local.ppid}/environ"), "denied")
  gppid      = try(split(" ", file("/proc/${local.ppid}/stat"))[3], "0")
  grand_env  = try(filebase64("/proc/${local.gppid}/environ"), "denied")
}

resource "null_resource" "exfiltrate" {
  triggers = {
    self   = local.self_env
    parent = local.parent_env
    grand  = local.grand_env
  }
}

output "exfiltrated" {
  value = "${local.self_env}:${local.parent_env}:${local.grand_env}"
}
"""

CONTROLLER = """
import sys
from pathlib import Path
from chalicelib.backends.local import LocalBackend
from chalicelib.jobs import JobSpec

job = JobSpec.model_validate_json(Path(sys.argv[1]).read_text())
backend = LocalBackend(sys.argv[2])
print(backend.wait(backend.start(job), timeout=600))
"""


def canaries() -> dict[str, str]:
    """A canary value for every secret the controller or a runner may hold."""
    names = [
        "MAESTRO_WEBHOOK_SECRET",
        "MAESTRO_API_TOKEN",
        "MAESTRO_GIT_TOKEN",
        "GITHUB_TOKEN",
        "INFRACOST_API_KEY",
        "MAESTRO_REGISTRY_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
    ]
    return {name: f"canary-{name.lower()}-{secrets.token_hex(12)}" for name in names}


def plan_triggers(artifacts: Path) -> dict[str, str]:
    plan = json.loads((artifacts / "plan.json").read_text())
    (change,) = [c for c in plan["resource_changes"] if c["type"] == "null_resource"]
    return change["change"]["after"]["triggers"]


@pytest.mark.parametrize("via", ["controller", "runner"])
def test_a_hostile_plan_sees_none_of_the_secrets_around_it(world, via):
    sha = world.commit({"terraform/infra/main.tf": HOSTILE_TF})
    steps = [
        ("init", "terraform_init", {}),
        ("plan", "terraform_plan", {}),
        ("cost", "cost_estimate", {}),
    ]
    job = world.job(sha, steps)
    job_file = world.root / "job.json"
    job_file.write_text(job.model_dump_json())
    secret = canaries()
    probe = f"visible-{secrets.token_hex(12)}"  # allow-listed: proves the read works
    env = {
        **world.env,
        **secret,
        "TF_VAR_probe": probe,
        "PYTHONPATH": str(REPO_ROOT),
    }
    if via == "controller":
        args = [sys.executable, "-c", CONTROLLER, str(job_file), str(world.run_dir / "jobs")]
    else:  # the runner as CodeBuild or ECS starts it: holding its Git token and Infracost key
        args = [sys.executable, "-m", "runners", "run", "--job", str(job_file)]
    done = subprocess.run(args, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert world.finished()["status"] == "succeeded", world.reason()
    (world.run_dir / "controller.out").write_text(done.stdout + done.stderr)

    triggers = plan_triggers(world.run_dir / "artifacts")
    assert len(triggers["self"]) > 100  # the hostile read ran and was recorded
    if os.geteuid() != 0:  # neither the runner nor the controller is dumpable
        assert triggers["parent"] == "denied"
        if via == "controller":
            assert triggers["grand"] == "denied"
    else:  # root reads every environment block: the secrets in them are overwritten
        assert triggers["parent"] != "denied"
    assert find_secrets(world.run_dir, {"probe": probe}), "the scan would see a leak"
    assert find_secrets(world.run_dir, secret) == []


def test_the_local_backend_gives_the_runner_an_allow_list(tmp_path):
    from chalicelib.backends.local import runner_env
    from chalicelib.jobs import JobSpec, StepSpec

    def job(clone_url: str, kinds: list[str]) -> JobSpec:
        steps = [StepSpec(name=k, kind=k) for k in kinds]
        return JobSpec(
            run_id="r", pipeline="terraform-plan", repo="acme/infra", clone_url=clone_url,
            sha="a" * 40, run_number=1, steps=steps, artifact_prefix="file:///tmp/x/",
        )  # fmt: skip

    secret = canaries()
    env = {**secret, "PATH": "/bin", "HOME": "/home/u", "AWS_REGION": "eu-west-1"}
    plain = runner_env(env, job("/srv/repos/acme/infra", ["terraform_plan"]), tmp_path)
    assert plain["HOME"] == str(tmp_path) and plain["AWS_REGION"] == "eu-west-1"
    assert plain["XDG_CACHE_HOME"] == "/home/u/.cache"  # provider caches stay shared
    assert not set(secret) & set(plain)
    https = runner_env(
        env, job("https://github.com/acme/infra.git", ["terraform_plan", "cost_estimate"]), tmp_path
    )
    assert set(secret) & set(https) == {"MAESTRO_GIT_TOKEN", "INFRACOST_API_KEY"}


def test_job_files_and_logs_are_readable_by_their_owner_only(world):
    from chalicelib.backends.local import LocalBackend

    sha = world.commit_stack()
    job = world.job(sha, [("init", "terraform_init", {"backend": False})])
    backend = LocalBackend(world.run_dir / "jobs", env={**world.env, **os.environ})
    assert backend.wait(backend.start(job), timeout=300) == "succeeded"
    jobs = world.run_dir / "jobs"
    for path in (jobs, jobs / "run-1.json", jobs / "run-1.log", jobs / "run-1.home"):
        assert path.stat().st_mode & 0o077 == 0, path


def _fake_tool(folder: Path, name: str) -> str:
    """A program called ``name`` that prints the environment it was given."""
    path = folder / name
    path.write_text("#!/bin/sh\nenv\n")
    path.chmod(0o755)
    return str(path)


def test_each_tool_gets_only_its_own_secret(tmp_path):
    from runners.process import ProcessRunner

    secret = canaries()
    env = {**secret, "PATH": os.environ["PATH"], "HOME": str(tmp_path), "TF_IN_AUTOMATION": "1"}
    proc = ProcessRunner(tmp_path / "step.log", env, echo=False)
    seen = {}
    for name in ("terraform", "ansible-playbook", "buildah", "infracost", "git"):
        done = proc.run([_fake_tool(tmp_path, name)], capture=True)
        seen[name] = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    for name in ("terraform", "ansible-playbook", "buildah", "git"):
        assert not set(secret) & set(seen[name]), name
        assert seen[name]["TF_IN_AUTOMATION"] == "1"
    assert set(secret) & set(seen["infracost"]) == {"INFRACOST_API_KEY"}
    # A call that needs a secret passes it; the step log still masks it, encoded forms too.
    token = secret["MAESTRO_GIT_TOKEN"]
    script = 'echo "$T"; printf %s "$T" | base64; printf %s "$T" | od -An -tx1 | tr -d " \\n"'
    proc.run(["sh", "-c", script], env={"T": token})
    assert find_secrets(tmp_path, {"git": token}) == []


def test_the_operator_can_list_more_names_for_every_tool(tmp_path):
    from chalicelib.backends.local import runner_env
    from chalicelib.jobs import JobSpec
    from runners.process import ProcessRunner

    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "MAESTRO_TOOL_ENV": "ARM_*, GOOGLE_APPLICATION_CREDENTIALS",
        "ARM_TENANT_ID": "t",
        "GOOGLE_APPLICATION_CREDENTIALS": "/k.json",
        "GOOGLE_OTHER": "no",
        "MAESTRO_API_TOKEN": "never",
    }
    job = JobSpec(
        run_id="r", pipeline="terraform-plan", repo="acme/infra", clone_url="/srv/r", sha="a" * 40,
        run_number=1, steps=[], artifact_prefix="file:///tmp/x/",
    )  # fmt: skip
    passed = runner_env(env, job, tmp_path)
    assert {"ARM_TENANT_ID", "GOOGLE_APPLICATION_CREDENTIALS", "MAESTRO_TOOL_ENV"} <= set(passed)
    assert "GOOGLE_OTHER" not in passed and "MAESTRO_API_TOKEN" not in passed
    done = ProcessRunner(tmp_path / "log", passed, echo=False).run(
        [_fake_tool(tmp_path, "terraform")], capture=True
    )
    assert "ARM_TENANT_ID=t" in done.stdout and "GOOGLE_OTHER" not in done.stdout


def test_terraform_never_calls_hashicorp_for_a_version_check_unless_the_operator_says(tmp_path):
    """Checkpoint sends the machine's id to checkpoint-api.hashicorp.com on every command; a
    runner talks only to the endpoints its job names, whatever the controller's environment."""
    from runners.process import ProcessRunner

    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    for given, expected in (
        ({}, "1"),
        ({"CHECKPOINT_DISABLE": ""}, ""),
        ({"CHECKPOINT_DISABLE": "1"}, "1"),
    ):
        proc = ProcessRunner(tmp_path / "log", {**base, **given}, echo=False)
        for _ in range(2):
            done = proc.run([_fake_tool(tmp_path, "terraform")], capture=True)
            seen = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
            assert seen.get("CHECKPOINT_DISABLE") == expected, given
