"""The seed's whole flow for real in local mode: ``maestro demo`` in a subprocess.

Webhooks → dispatcher → the runner as a subprocess (real Terraform 1.0.3 with the null
provider, the real Ansible playbook's config tag, buildah into the loopback registry, the
compose rewrite) → runner events → succeeded runs, artifacts, chaining and PR comments.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXPECTED = [
    "terraform-validate",
    "terraform-plan",
    "terraform-apply",
    "ansible-monitoring",
    "ci-application",
    "cd-application",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    data_dir = tmp_path_factory.mktemp("demo")
    # The quick offline stack: the seed's own stack against moto is covered by
    # tests/integration/terraform_config/test_aws_moto.py where a provider mirror exists.
    done = subprocess.run(
        [sys.executable, "-m", "chalicelib.cli.main", "demo", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "MAESTRO_DEMO_STACK": "null"},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return data_dir, done.stdout


def runs_by_pipeline(data_dir: Path) -> dict[str, dict]:
    runs = json.loads((data_dir / "runs.json").read_text())
    return {run["pipeline"]: run for run in runs}


def test_every_pipeline_of_the_seed_ran_once_and_succeeded(demo: tuple[Path, str]) -> None:
    data_dir, _ = demo
    runs = json.loads((data_dir / "runs.json").read_text())
    assert sorted(run["pipeline"] for run in runs) == sorted(EXPECTED)
    failed = {run["pipeline"]: run["error"] for run in runs if run["status"] != "succeeded"}
    assert failed == {}


def test_apply_applied_the_reviewed_plan_and_chained_monitoring(demo: tuple[Path, str]) -> None:
    runs = runs_by_pipeline(demo[0])
    plan, apply, monitoring = (runs[p] for p in EXPECTED[1:4])
    assert apply["plan_run_id"] == plan["id"] and apply["sha"] == plan["sha"]
    assert {"plan", "plan_json", "plan_summary", "cost_report", "cost_insights"} <= set(
        plan["artifacts"]
    )
    assert apply["outputs"]["hosts"]["monitoring"][0]["name"] == "monitoring-1"
    assert "inventory" in apply["artifacts"] and "inventory" in monitoring["artifacts"]
    assert monitoring["reason"].startswith("after terraform-apply")
    assert [step["name"] for step in plan["steps"]] == ["init", "plan", "cost"]


def test_images_were_built_tagged_and_pushed_and_compose_rewritten(demo: tuple[Path, str]) -> None:
    data_dir, _ = demo
    ci = runs_by_pipeline(data_dir)["ci-application"]
    tag = f"{ci['run_number']}-{ci['sha'][:7]}"
    repo = data_dir / "repos" / "maestrops" / "demo"
    compose = subprocess.run(
        ["git", "-C", str(repo), "show", "integration:app/docker-compose.yml"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    # What the build pushed: the local registry on loopback, this run's tag and the digest.
    for name in ("backend", "frontend"):
        pushed = rf"image: localhost:\d+/maestrops/{name}:{tag}@sha256:[0-9a-f]{{64}}\n"
        assert re.search(pushed, compose), compose
    message = subprocess.run(
        ["git", "-C", str(repo), "log", "-1", "--format=%s", "integration"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "[maestro-bot]" in message


def test_pull_requests_received_plan_and_result_comments(demo: tuple[Path, str]) -> None:
    data_dir, stdout = demo
    comments = data_dir / "outbox" / "maestrops" / "demo" / "comments"
    plan = (comments / "1-terraform-plan.md").read_text()
    assert "**Plan:** 2 to add" in plan and "null_resource.host" in plan
    assert "succeeded" in (comments / "1-terraform-apply.md").read_text()
    deploy = (comments / "2-cd-application.md").read_text()
    assert "deploy" in deploy and "skipped" in deploy
    assert "== Runs" in stdout and "duplicate delivery" in stdout


def test_the_demo_says_what_it_waits_for(demo: tuple[Path, str]) -> None:
    _, stdout = demo
    waits = [line for line in stdout.splitlines() if "waiting:" in line]
    assert any("terraform-plan #1" in line for line in waits), stdout[:3000]
    assert any("terraform-apply #1" in line for line in waits)
    assert all(line.lstrip().startswith("[") and " s] waiting: " in line for line in waits)
