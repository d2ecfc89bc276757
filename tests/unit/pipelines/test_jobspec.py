from __future__ import annotations

from chalicelib.jobs import Pipeline
from chalicelib.pipelines.config import GitOpsConfig
from chalicelib.pipelines.jobspec import build_job
from chalicelib.runs.model import Run
from chalicelib.settings import Settings


def run(pipeline: Pipeline, **fields) -> Run:
    return Run(id="run-1", repo="o/r", pipeline=pipeline, sha="a" * 40, run_number=4, **fields)


def test_local_mode_writes_host_config_to_a_folder_and_reports_to_a_folder() -> None:
    settings = Settings(local_data_dir="/data")
    job = build_job(run(Pipeline.ANSIBLE_MONITORING), GitOpsConfig(), settings, "/repos/o/r")
    [playbook] = [s for s in job.steps if s.kind == "ansible_playbook"]
    assert playbook.params["playbook"] == "ansible/monitoring.yml"
    assert playbook.params["tags"] == "config"
    assert playbook.params["extra_vars"]["maestrops_root"] == "/data/hosts"
    assert playbook.params["extra_vars"]["maestrops_compose_up"] == "false"
    assert job.callback.local_dir == "/data/events"


def test_aws_jobs_report_to_eventbridge_and_really_run_playbooks() -> None:
    settings = Settings(artifacts_bucket="bucket", event_bus="bus")
    job = build_job(run(Pipeline.ANSIBLE_MONITORING), GitOpsConfig(), settings, "https://x/o/r.git")
    [playbook] = [s for s in job.steps if s.kind == "ansible_playbook"]
    assert "tags" not in playbook.params
    assert playbook.params["connection"] == "amazon.aws.aws_ssm"
    assert playbook.params["extra_vars"]["ansible_aws_ssm_bucket_name"] == "bucket"
    assert job.callback.local_dir is None and job.callback.event_bus == "bus"
    assert job.artifact_prefix == "s3://bucket/runs/run-1/"


def test_apply_job_applies_the_reviewed_plan_run() -> None:
    job = build_job(
        run(Pipeline.TERRAFORM_APPLY, plan_run_id="run-plan"), GitOpsConfig(), Settings(), "u"
    )
    assert job.previous_run_id == "run-plan"
    assert [s.name for s in job.steps] == ["init", "apply", "output", "inventory"]
