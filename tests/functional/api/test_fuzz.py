"""schemathesis, every check, against docs/openapi.yaml and the API served on loopback.

A few examples per operation here (``make test``); ``make api-fuzz`` runs many more through
``MAESTRO_FUZZ_EXAMPLES``. The store holds the runs the spec's examples name, so the
examples phase reaches the paths that used to answer 500: a retry whose commit has an
invalid ``.gitops.yml``, and one whose commit is unknown.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.runs.model import Run, RunStatus
from tests.functional.api.conftest import TOKEN, ServedApi
from tests.functional.conftest import REPO

ROOT = Path(__file__).resolve().parents[3]
SPEC = ROOT / "docs" / "openapi.yaml"
CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLE_RUN = "run-3f9c2a7be41d05c8a6e2"  # the id docs/openapi.yaml uses in its examples


def seed_runs(api: ServedApi) -> None:
    """A failed run at a commit with a broken .gitops.yml (the spec's example id), a failed
    run at a commit the repository does not have, and a page's worth of others."""
    store = api.controller.services.store
    broken = api.controller.commit({".gitops.yml": "pipelines: [not, a, mapping\n"})
    runs = [
        Run(id=EXAMPLE_RUN, repo=REPO, pipeline="terraform-plan", sha=broken, run_number=1, pr=7),
        Run(id="run-unknown-sha", repo=REPO, pipeline="terraform-apply", sha="f" * 40,
            run_number=1, pr=7),
    ] + [
        Run(id=f"run-{n:02d}", repo=REPO, pipeline="ci-application", sha=broken,
            run_number=n + 2, created_at=f"2026-11-2{n % 10}T10:00:00.000Z")
        for n in range(25)
    ]  # fmt: skip
    for run in runs:
        store.create(run)
    for run_id in (EXAMPLE_RUN, "run-unknown-sha"):
        store.transition(run_id, RunStatus.FAILED, error="seeded failure")


def run_schemathesis(
    url: str, examples: int, tmp_path: Path, token: str = TOKEN
) -> subprocess.CompletedProcess:
    """``st run`` with every check; its exit status says whether it found anything."""
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG),
        "run", str(SPEC), "--url", url,
        "--header", f"Authorization: Bearer {token}",
        "--checks", "all", "--max-examples", str(examples),
        "--workers", "1", "--seed", "20261130", "--no-color",
        "--report", "junit", "--report-dir", str(tmp_path / "report"),
    ]  # fmt: skip
    env = {**os.environ, "SCHEMATHESIS_HOOKS": ""}
    budget = 300 + 10 * examples  # seconds; about 3 s per example on two shared cores
    return subprocess.run(
        command, capture_output=True, text=True, timeout=budget, env=env, cwd=tmp_path
    )


@pytest.mark.slow
def test_schemathesis_finds_nothing(served_api: ServedApi, tmp_path: Path) -> None:
    seed_runs(served_api)
    examples = int(os.environ.get("MAESTRO_FUZZ_EXAMPLES", "5"))
    done = run_schemathesis(served_api.url, examples, tmp_path)
    assert done.returncode == 0, done.stdout[-12000:] + done.stderr[-3000:]
    assert "No issues found" in done.stdout or " passed" in done.stdout, done.stdout[-4000:]
