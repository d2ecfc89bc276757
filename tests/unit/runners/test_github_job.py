from __future__ import annotations

from pathlib import Path

from chalicelib.jobs import Pipeline
from runners.actions import job_from_actions

ENV = {
    "GITHUB_REPOSITORY": "acme/infra",
    "GITHUB_SHA": "1" * 40,
    "GITHUB_REF_NAME": "infra_features",
    "GITHUB_RUN_ID": "9001",
    "GITHUB_RUN_NUMBER": "12",
    "GITHUB_SERVER_URL": "https://github.com",
    "RUNNER_TEMP": "/runner/_temp",
    "MAESTRO_PARAM_REGISTRY": "ghcr.io/acme",
}


def test_pull_request_runs_plan_at_the_head(tmp_path: Path):
    event = {"pull_request": {"number": 7, "head": {"sha": "2" * 40, "ref": "infra_features"}}}
    job = job_from_actions(Pipeline.TERRAFORM_PLAN, ENV, event, tmp_path)
    assert (job.sha, job.pr, job.branch, job.run_number) == ("2" * 40, 7, "infra_features", 12)
    assert job.clone_url == "https://github.com/acme/infra.git"
    assert job.working_dir == "terraform/infra"
    assert [s.kind for s in job.steps] == ["terraform_init", "terraform_plan", "cost_estimate"]
    assert job.artifact_prefix == "file:///runner/_temp/maestro/gha-9001-1/"
    assert job.callback.local_dir == "/runner/_temp/maestro/events"
    assert job.parameters == {"registry": "ghcr.io/acme"}


def test_apply_on_actions_plans_in_the_same_run(tmp_path: Path):
    (tmp_path / ".gitops.yml").write_text("terraform: {dir: infra}\n")
    env = {**ENV, "MAESTRO_ARTIFACTS_BUCKET": "art", "MAESTRO_EVENT_BUS": "maestro"}
    job = job_from_actions(Pipeline.TERRAFORM_APPLY, env, {}, tmp_path)
    kinds = [s.kind for s in job.steps]
    assert kinds.index("terraform_plan") == kinds.index("terraform_apply") - 1
    assert job.working_dir == "infra" and job.sha == "1" * 40
    assert job.artifact_prefix == "s3://art/runs/gha-9001-1/"
    assert job.callback.event_bus == "maestro" and job.callback.local_dir is None
