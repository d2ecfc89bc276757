"""Each AWS backend against moto where moto serves the call, and botocore's Stubber where moto
shortcuts it (CodeBuild finishes at once, Fargate RunTask errors, SSM runs nothing): the
statuses are scripted, the request parameters checked against the service model."""

from __future__ import annotations

import base64
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from chalicelib.backends.base import DispatchError, RunnerRef
from chalicelib.backends.codebuild import CodeBuildBackend, build_start_build_kwargs
from chalicelib.backends.ecs import EcsBackend, build_run_task_kwargs
from chalicelib.backends.service_events import map_service_event
from chalicelib.backends.ssm import SsmBackend, build_send_command_kwargs
from chalicelib.jobs import JobSpec

EVENTS = Path(__file__).resolve().parents[2] / "fixtures" / "runners" / "events"


def _decoded_job(value: str) -> JobSpec:
    return JobSpec.model_validate_json(base64.b64decode(value))


# --- CodeBuild ---------------------------------------------------------------------------


def test_start_build_request(job):
    kwargs = build_start_build_kwargs(job, "maestrops-runner")
    env = {v["name"]: v["value"] for v in kwargs["environmentVariablesOverride"]}
    assert _decoded_job(env["MAESTRO_JOB"]) == job
    assert env["MAESTRO_RUN_ID"] == job.run_id
    assert kwargs["timeoutInMinutesOverride"] == 30
    assert kwargs["idempotencyToken"] == job.run_id


@mock_aws
def test_codebuild_start_against_moto(job):
    client = boto3.client("codebuild")
    client.create_project(
        name="maestrops-runner",
        source={"type": "S3", "location": "maestrops-artifacts/runner.zip"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "maestrops-runner:latest",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole="arn:aws:iam::123456789012:role/maestrops-runner",
    )
    ref = CodeBuildBackend("maestrops-runner", client).start(job)
    assert ref.backend == "codebuild" and ref.id.startswith("maestrops-runner:")
    assert client.batch_get_builds(ids=[ref.id])["builds"][0]["projectName"] == "maestrops-runner"


@mock_aws
def test_codebuild_start_of_a_missing_project_is_a_dispatch_error(job):
    with pytest.raises(DispatchError, match="StartBuild"):
        CodeBuildBackend("no-such-project", boto3.client("codebuild")).start(job)


def test_codebuild_status_and_cancel_scripted(job):
    client = boto3.client("codebuild")
    ref = RunnerRef(backend="codebuild", id="maestrops-runner:1")
    with Stubber(client) as stub:
        for status in ("IN_PROGRESS", "SUCCEEDED", "FAULT", "STOPPED"):
            stub.add_response(
                "batch_get_builds",
                {"builds": [{"id": ref.id, "buildStatus": status}]},
                {"ids": [ref.id]},
            )
        stub.add_client_error("stop_build", "InvalidInputException", expected_params={"id": ref.id})
        backend = CodeBuildBackend("maestrops-runner", client)
        states = [backend.status(ref) for _ in range(4)]
        backend.cancel(ref)  # the build had already ended: not an error
    assert states == ["running", "succeeded", "failed", "stopped"]


# --- ECS -----------------------------------------------------------------------------------


def test_run_task_request(job):
    kwargs = build_run_task_kwargs(job, "maestrops", "maestrops-runner:3", ["subnet-a"], ["sg-a"])
    assert kwargs["launchType"] == "FARGATE"
    vpc = kwargs["networkConfiguration"]["awsvpcConfiguration"]
    assert vpc == {
        "subnets": ["subnet-a"],
        "securityGroups": ["sg-a"],
        "assignPublicIp": "DISABLED",
    }
    override = kwargs["overrides"]["containerOverrides"][0]
    assert override["name"] == "runner"
    assert override["command"] == ["python", "-m", "runners", "run", "--job", "env"]
    env = {e["name"]: e["value"] for e in override["environment"]}
    assert _decoded_job(env["MAESTRO_JOB"]).run_id == job.run_id


def test_ecs_start_status_cancel_scripted(job):
    client = boto3.client("ecs")
    arn = "arn:aws:ecs:eu-west-1:123456789012:task/maestrops/b99d40b3"
    backend = EcsBackend("maestrops", "maestrops-runner:3", ["subnet-a"], ["sg-a"], client=client)
    expected = build_run_task_kwargs(job, "maestrops", "maestrops-runner:3", ["subnet-a"], ["sg-a"])
    describe = {"cluster": "maestrops", "tasks": [arn]}
    with Stubber(client) as stub:
        stub.add_response("run_task", {"tasks": [{"taskArn": arn}], "failures": []}, expected)
        for task in (
            {"lastStatus": "PROVISIONING"},
            {"lastStatus": "RUNNING"},
            {"lastStatus": "STOPPED", "containers": [{"name": "runner", "exitCode": 1}]},
            {"lastStatus": "STOPPED", "stopCode": "UserInitiated", "containers": []},
        ):
            stub.add_response("describe_tasks", {"tasks": [{"taskArn": arn, **task}]}, describe)
        stub.add_response("stop_task", {"task": {"taskArn": arn}}, {**describe_stop(arn)})
        ref = backend.start(job)
        states = [backend.status(ref) for _ in range(4)]
        backend.cancel(ref)
    assert ref.id == arn
    assert states == ["pending", "running", "failed", "stopped"]


def describe_stop(arn: str) -> dict:
    return {"cluster": "maestrops", "task": arn, "reason": "cancelled"}


@mock_aws
def test_ecs_start_error_from_moto_is_a_dispatch_error(job):
    # moto cannot place Fargate tasks; the adapter turns the service error into a domain one.
    client = boto3.client("ecs")
    backend = EcsBackend("missing", "maestrops-runner", ["subnet-a"], ["sg-a"], client=client)
    with pytest.raises(DispatchError, match="RunTask"):
        backend.start(job)


# --- SSM -----------------------------------------------------------------------------------


@mock_aws
def test_ssm_send_command_against_moto(job):
    client = boto3.client("ssm")
    backend = SsmBackend(["i-0a1b2c3d4e5f67890"], "maestrops-artifacts", client=client)
    ref = backend.start(job)
    sent = client.list_commands(CommandId=ref.id)["Commands"][0]
    assert sent["DocumentName"] == "AWS-RunShellScript"
    assert sent["InstanceIds"] == ["i-0a1b2c3d4e5f67890"]
    assert sent["OutputS3BucketName"] == "maestrops-artifacts"
    assert sent["OutputS3KeyPrefix"] == f"runs/{job.run_id}/ssm"
    commands = sent["Parameters"]["commands"]
    assert commands[-1] == "/opt/maestrops/.venv/bin/python -m runners run --job env"
    # The service's own status-change event for this command maps back to the run.
    event = {
        "detail-type": "EC2 Command Status-change Notification",
        "detail": {"command-id": ref.id, "parameters": sent["Parameters"], "status": "Success"},
    }
    update = map_service_event(event)
    assert (update.run_id, update.state, update.runner_id) == (job.run_id, "succeeded", ref.id)


def test_ssm_status_scripted(job):
    client = boto3.client("ssm")
    ref = RunnerRef(backend="ssm", id="e8d3c0e4-71f7-4491-898f-c9b35bee5f3b")
    with Stubber(client) as stub:
        for status in ("Pending", "InProgress", "Failed", "Cancelled"):
            stub.add_response(
                "list_commands",
                {"Commands": [{"CommandId": ref.id, "Status": status}]},
                {"CommandId": ref.id},
            )
        backend = SsmBackend(["i-0a1b2c3d4e5f67890"], client=client)
        assert [backend.status(ref) for _ in range(4)] == [
            "pending",
            "running",
            "failed",
            "stopped",
        ]


def test_ssm_without_runner_hosts_refuses(job):
    with pytest.raises(DispatchError, match="no runner instance"):
        SsmBackend([]).start(job)


def test_send_command_request_quotes_the_job(job):
    kwargs = build_send_command_kwargs(job, ["i-1"], runner_dir="/opt/maestrops")
    assert kwargs["Parameters"]["executionTimeout"] == ["1800"]
    assert "OutputS3BucketName" not in kwargs


def test_recorded_job_files_are_readable_by_the_controllers_user_only(
    job: JobSpec, tmp_path: Path
) -> None:
    from chalicelib.backends.recording import RecordingBackend

    RecordingBackend(str(tmp_path / "jobs")).start(job)
    path = tmp_path / "jobs" / f"{job.run_id}.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "jobs").stat().st_mode & 0o777 == 0o700
