"""The report step of runner.yml on its own: the run record from stored step results, the
comment through the fake GitHub (checked against GitHub's OpenAPI description)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.cli.actions_report import main
from chalicelib.jobs import Callback, JobSpec, StepResult, StepSpec
from tests.functional.github.fake_github import FakeGitHub
from tests.functional.github.openapi_check import OpenApiChecker

pytestmark = pytest.mark.slow
TOKEN = "ghs_report0123456789"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub(OpenApiChecker(), app_id="1", app_public_key="unused").start()
    fake.personal_tokens.add(TOKEN)
    yield fake
    fake.stop()
    assert fake.violations == []


@pytest.fixture
def checkout(tmp_path: Path) -> tuple[Path, str]:
    """The workflow's checkout: the commit every run of these tests reports on."""
    repo = tmp_path / "workspace"
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), *ident, "commit", "-q", "--allow-empty",
                    "--date=2026-11-01T10:00:00Z", "-m", "c"], check=True,
                   env={**os.environ, "GIT_COMMITTER_DATE": "2026-11-01T10:00:00Z"})  # fmt: skip
    sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    return repo, sha


def job(tmp_path: Path, run_number: int, pr: int | None = 3, sha: str = "a" * 40) -> Path:
    prefix = (tmp_path / "artifacts" / f"gha-{run_number}").as_uri() + "/"
    spec = JobSpec(
        run_id=f"gha-{run_number}-1", pipeline="terraform-apply", repo="acme/infra",
        clone_url="https://github.com/acme/infra.git", sha=sha, branch="infra_main",
        pr=pr, run_number=run_number, artifact_prefix=prefix,
        callback=Callback(local_dir=str(tmp_path / "events")), backend="github-actions",
        steps=[StepSpec(name="init", kind="terraform_init"),
               StepSpec(name="plan", kind="terraform_plan"),
               StepSpec(name="apply", kind="terraform_apply")],
    )  # fmt: skip
    path = tmp_path / f"job-{run_number}.json"
    path.write_text(spec.model_dump_json())
    return path


def result(tmp_path: Path, run_number: int, name: str, kind: str, status: str, **extra) -> None:
    folder = tmp_path / "artifacts" / f"gha-{run_number}" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    step = StepResult(name=name, kind=kind, status=status, **extra)  # type: ignore[arg-type]
    (folder / f"{name}.json").write_text(step.model_dump_json())


def env(github: FakeGitHub, tmp_path: Path, token: str = TOKEN) -> dict[str, str]:
    return {
        "GITHUB_WORKSPACE": str(tmp_path / "workspace"),
        "GITHUB_TOKEN": token,
        "GITHUB_API_URL": github.url,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/infra",
        "GITHUB_RUN_ID": "42",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }


def test_results_become_the_comment_and_an_older_run_never_overwrites_it(
    github, tmp_path, checkout
):
    _, sha = checkout
    for n in ("init", "plan"):
        result(tmp_path, 7, n, f"terraform_{n}", "succeeded")
    result(tmp_path, 7, "apply", "terraform_apply", "failed", exit_code=1,
           reason="terraform apply exited 1", log_tail="Error: boom\n")  # fmt: skip
    assert main(["--job", str(job(tmp_path, 7, sha=sha))], env(github, tmp_path)) == 0
    [body] = github.thread_bodies("acme/infra", 3)
    assert "commit-time=2026-11-01T10:00:00Z" in body
    assert "terraform-apply run #7 failed" in body and "Error: boom" in body
    assert "Failed step: **apply**" in body

    # Run 6 reports late (runners finish in any order): the newer result stays.
    for n in ("init", "plan", "apply"):
        result(tmp_path, 6, n, f"terraform_{n}", "succeeded")
    assert main(["--job", str(job(tmp_path, 6, sha=sha))], env(github, tmp_path)) == 0
    assert github.thread_bodies("acme/infra", 3) == [body]

    # A runner that died before reporting its first step: the checkout failed.
    assert main(["--job", str(job(tmp_path, 8, sha=sha))], env(github, tmp_path)) == 0
    [body] = github.thread_bodies("acme/infra", 3)
    assert "terraform-apply run #8 failed" in body and "checkout" in body
    summary = (tmp_path / "summary.md").read_text()
    assert summary.count("terraform-apply run #") == 3


def test_a_push_writes_only_the_summary_and_a_refused_token_fails_the_step(github, tmp_path):
    for n in ("init", "plan", "apply"):
        result(tmp_path, 9, n, f"terraform_{n}", "succeeded")
    assert main(["--job", str(job(tmp_path, 9, pr=None))], env(github, tmp_path)) == 0
    assert github.requests == []
    assert "terraform-apply run #9 succeeded" in (tmp_path / "summary.md").read_text()

    assert main(["--job", str(job(tmp_path, 9))], env(github, tmp_path, token="ghs_other")) == 1
    assert github.comments == {}
    assert main(["--job", str(tmp_path / "missing.json")], env(github, tmp_path)) == 2

    # A result document that does not parse fails the run at that step.
    (tmp_path / "artifacts" / "gha-9" / "results" / "plan.json").write_text('{"name": 1}')
    assert main(["--job", str(job(tmp_path, 9))], env(github, tmp_path)) == 0
    [body] = github.thread_bodies("acme/infra", 3)
    assert "Failed step: **plan**" in body and "its result is unreadable" in body
