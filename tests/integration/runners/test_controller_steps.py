"""The controller's own step lists (``chalicelib.pipelines.steps_for``) run by the runner in
local mode, chained the way the controller chains them: validate, plan, apply, monitoring,
ci-application, cd-application."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest

from chalicelib.jobs import Pipeline
from chalicelib.pipelines.config import GitOpsConfig
from chalicelib.pipelines.steps import steps_for, working_dir_for

from .conftest import FIXTURES

pytestmark = pytest.mark.slow

CONFIG = GitOpsConfig.model_validate(
    {
        "terraform": {"dir": "infra"},
        "ansible": {"playbook": "ansible/site.yml"},
        "application": {
            "images": [{"name": "maestrops/backend", "context": "app/backend"}],
        },
    }
)


def controller_job(bench, run_id: str, pipeline: Pipeline, sha: str, **extra):
    steps = [(s.name, s.kind, s.params) for s in steps_for(pipeline, CONFIG)]
    return bench.job(
        run_id, sha, steps, pipeline=pipeline.value,
        working_dir=working_dir_for(pipeline, CONFIG), **extra,
    )  # fmt: skip


def test_the_terraform_chain(bench):
    bench.commit("terraform/null-ok", "infra")
    sha = bench.commit("ansible", "ansible")
    out = bench.root / "out"
    out.mkdir()
    bench.env["MAESTRO_TEST_OUT_DIR"] = str(out)
    bench.env["MAESTRO_TOOL_ENV"] = "MAESTRO_TEST_*"  # tools see only listed names

    for run_id, pipeline, extra in (
        ("validate-1", Pipeline.TERRAFORM_VALIDATE, {}),
        ("plan-1", Pipeline.TERRAFORM_PLAN, {"pr": 1}),
        ("apply-1", Pipeline.TERRAFORM_APPLY, {"pr": 1, "previous_run_id": "plan-1"}),
        ("monitoring-1", Pipeline.ANSIBLE_MONITORING, {}),
    ):
        job = controller_job(bench, run_id, pipeline, sha, **extra)
        assert bench.run(job) == 0, (run_id, bench.steps_of(run_id))
        assert bench.finished(run_id)["status"] == "succeeded"

    # State lives outside the throwaway checkouts, so the monitoring run saw the apply's.
    assert (out / "monitoring-1.txt").read_text().startswith("i-0456 203.0.113.11")
    state_files = list((bench.root / "state").rglob("*.tfstate"))
    assert len(state_files) == 1 and json.loads(state_files[0].read_text())["serial"] >= 1


def test_application_chain_without_an_engine(bench):
    bench.commit("images", "app")
    shutil.copy(
        FIXTURES / "compose" / "app-docker-compose.yml", bench.repo / "app/docker-compose.yml"
    )
    sha = bench.write_and_commit("app/.keep", "")
    registry = "localhost:1"  # nothing listens: the build succeeds, the push must fail
    job = controller_job(
        bench, "ci-1", Pipeline.CI_APPLICATION, sha, parameters={"registry": registry}
    )
    assert bench.run(job) == 1
    build = bench.steps_of("ci-1")["build"]
    assert build["status"] == "failed" and build["reason"].startswith("push of localhost:1/")

    # No container engine answers on this machine: the deploy is skipped, with that reason.
    job = controller_job(bench, "cd-1", Pipeline.CD_APPLICATION, sha)
    assert bench.run(job) == 0
    deploy = bench.steps_of("cd-1")["deploy"]
    assert deploy["status"] == "skipped"
    assert deploy["reason"].startswith("no container engine")


def test_runner_cli_exit_codes(bench, tmp_path):
    bench.commit("terraform/broken", "infra")
    sha = bench.write_and_commit("infra/.keep", "")
    job = controller_job(bench, "validate-2", Pipeline.TERRAFORM_VALIDATE, sha)
    path = tmp_path / "job.json"
    path.write_text(job.model_dump_json())
    python = shutil.which("python", path=str(Path(__import__("sys").executable).parent))
    done = subprocess.run(
        [python, "-m", "runners", "run", "--job", str(path)],
        env=bench.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert "==> step validate (terraform_validate)" in done.stdout
    finished = bench.finished("validate-2")
    assert finished["failed_step"] == "validate"
    log_uri = finished["artifacts"]["log:validate"]
    assert "undeclared resource" in Path(urlparse(log_uri).path).read_text()
    bad = subprocess.run([python, "-m", "runners", "run", "--job", str(tmp_path / "none.json")],
                         env=bench.env, capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and "cannot read job file" in bad.stderr
