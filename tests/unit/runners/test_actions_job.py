"""The job a GitHub Actions run builds: AWS mode with events in a folder, the S3 state from
repository secrets, the merge commit of a merged pull request, playbooks over SSM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.jobs import Pipeline
from chalicelib.pipelines.config import GitOpsConfig, parse_config
from chalicelib.pipelines.steps import steps_for
from runners.actions import job_from_actions, state_backend_config
from runners.artifacts import store_for
from runners.context import RunContext

EVENTS = Path(__file__).resolve().parents[2] / "events"
ENV = {
    "GITHUB_REPOSITORY": "acme/infra",
    "GITHUB_SHA": "1" * 40,
    "GITHUB_REF_NAME": "infra_main",
    "GITHUB_RUN_ID": "77",
    "GITHUB_RUN_NUMBER": "3",
    "RUNNER_TEMP": "/runner/_temp",
    "AWS_REGION": "eu-west-1",
    "MAESTRO_STATE_BUCKET": "tfstate",
    "MAESTRO_STATE_LOCK_TABLE": "locks",
    "MAESTRO_ARTIFACTS_BUCKET": "artifacts",
}


def closed_merged() -> dict:
    event = json.loads((EVENTS / "pull_request.closed.json").read_text())
    event["pull_request"].update(merged=True, merge_commit_sha="9" * 40)
    event["pull_request"]["base"]["ref"] = "infra_main"
    return event


def test_a_merged_pull_request_runs_its_merge_commit_on_the_base_branch(tmp_path: Path):
    job = job_from_actions(Pipeline.TERRAFORM_APPLY, ENV, closed_merged(), tmp_path)
    assert (job.sha, job.branch, job.pr) == ("9" * 40, "infra_main", 2)
    opened = json.loads((EVENTS / "pull_request.opened.json").read_text())
    job = job_from_actions(Pipeline.TERRAFORM_PLAN, ENV, opened, tmp_path)
    assert job.sha == opened["pull_request"]["head"]["sha"]


def test_every_init_with_a_backend_gets_the_s3_state(tmp_path: Path):
    (tmp_path / ".gitops.yml").write_text("terraform: {dir: infra, workspace: prod}\n")
    for pipeline in (
        Pipeline.TERRAFORM_PLAN,
        Pipeline.TERRAFORM_APPLY,
        Pipeline.ANSIBLE_MONITORING,
    ):
        job = job_from_actions(pipeline, ENV, {}, tmp_path)
        [init] = [s for s in job.steps if s.kind == "terraform_init"]
        assert init.params["backend_config"] == {
            "bucket": "tfstate",
            "key": "stacks/acme/infra/infra/prod.tfstate",
            "encrypt": "true",
            "region": "eu-west-1",
            "dynamodb_table": "locks",
        }
        assert job.workspace == "prod"
        assert all(s.params["lock"] is False for s in job.steps if s.kind == "terraform_plan")
    validate = job_from_actions(Pipeline.TERRAFORM_VALIDATE, ENV, {}, tmp_path)
    [init] = [s for s in validate.steps if s.kind == "terraform_init"]
    assert init.params == {"backend": False}


def test_backend_config_lines_add_settings_and_refuse_garbage():
    env = {**ENV, "MAESTRO_STATE_BACKEND_CONFIG": "# S3-compatible\nforce_path_style = true\n"}
    assert state_backend_config(env, "a/b", GitOpsConfig())["force_path_style"] == "true"
    with pytest.raises(ValueError, match="not key=value"):
        state_backend_config({**env, "MAESTRO_STATE_BACKEND_CONFIG": "oops"}, "a/b", GitOpsConfig())
    assert state_backend_config({}, "a/b", GitOpsConfig()) == {}


def test_playbooks_reach_the_hosts_through_ssm(tmp_path: Path):
    job = job_from_actions(Pipeline.ANSIBLE_MONITORING, ENV, {}, tmp_path)
    [playbook] = [s for s in job.steps if s.kind == "ansible_playbook"]
    assert playbook.params["connection"] == "amazon.aws.aws_ssm"
    assert playbook.params["extra_vars"] == {
        "ansible_aws_ssm_region": "eu-west-1",
        "ansible_aws_ssm_bucket_name": "artifacts",
    }
    assert playbook.params["playbook"] == "ansible/monitoring.yml"
    assert playbook.params["more_playbooks"] == ["ansible/app.yml"]


def test_an_actions_run_reports_to_a_folder_but_is_not_local_mode(tmp_path: Path):
    job = job_from_actions(Pipeline.CD_APPLICATION, ENV, closed_merged(), tmp_path)
    assert job.callback.local_dir == "/runner/_temp/maestro/events"
    ctx = RunContext(job, tmp_path, tmp_path, store_for(tmp_path.as_uri() + "/"), None, {})  # type: ignore[arg-type]
    assert ctx.local_mode is False
    local = job.model_copy(update={"backend": "local"})
    assert RunContext(local, tmp_path, tmp_path, ctx.store, None, {}).local_mode is True  # type: ignore[arg-type]


def test_monitoring_plays_the_app_playbook_beside_its_own():
    config = parse_config("ansible: {playbook: ops/site.yml}\n")
    [playbook] = [
        s for s in steps_for(Pipeline.ANSIBLE_MONITORING, config) if s.kind == "ansible_playbook"
    ]
    assert playbook.params["more_playbooks"] == ["ops/app.yml"]


def test_github_actions_as_a_backend_is_refused_at_validation_saying_why(tmp_path: Path):
    from chalicelib.pipelines.config import ConfigError

    text = "pipelines:\n  terraform-plan:\n    backend: github-actions\n"
    with pytest.raises(ConfigError) as refused:
        parse_config(text)
    message = str(refused.value)
    assert "pipelines.terraform-plan.backend" in message
    assert "not a backend the controller starts" in message and ".github/workflows" in message
    # The Actions path reads the same file: its job is refused with the same words.
    (tmp_path / ".gitops.yml").write_text(text)
    with pytest.raises(ConfigError, match="not a backend the controller starts"):
        job_from_actions(Pipeline.TERRAFORM_PLAN, ENV, {}, tmp_path)


def test_the_state_key_is_the_controllers_own(tmp_path: Path):
    (tmp_path / ".gitops.yml").write_text("terraform: {backend: {key: prod/net.tfstate}}\n")
    job = job_from_actions(Pipeline.TERRAFORM_PLAN, ENV, {}, tmp_path)
    [init] = [s for s in job.steps if s.kind == "terraform_init"]
    assert init.params["backend_config"]["key"] == "stacks/acme/infra/prod/net.tfstate"
