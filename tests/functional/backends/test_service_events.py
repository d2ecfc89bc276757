"""The AWS services' own state-change events mapped back to runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.backends.service_events import ServiceUpdate, map_service_event, run_state

EVENTS = Path(__file__).resolve().parents[2] / "fixtures" / "runners" / "events"


def load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def test_codebuild_failed_build():
    update = map_service_event(load("codebuild-build-state-change.json"))
    assert update == ServiceUpdate(
        "01JRUN0000CODEBUILD",
        "failed",
        "codebuild",
        "arn:aws:codebuild:eu-west-1:123456789012:build/maestrops-runner:"
        "8745a7a9-c340-456a-9166-edf953571bef",
        "CodeBuild build FAILED",
    )


@pytest.mark.parametrize(
    ("status", "state"),
    [("IN_PROGRESS", "running"), ("SUCCEEDED", "succeeded"), ("STOPPED", "stopped"),
     ("TIMED_OUT", "failed"), ("SOMETHING_NEW", "unknown")],
)  # fmt: skip
def test_codebuild_statuses(status, state):
    event = load("codebuild-build-state-change.json")
    event["detail"]["build-status"] = status
    assert run_state(event) == ("01JRUN0000CODEBUILD", state)


def test_ecs_task_stopped_with_exit_code_zero_succeeded():
    assert run_state(load("ecs-task-state-change.json")) == ("01JRUN00000000ECS", "succeeded")


def test_ecs_task_exit_code_and_user_stop():
    event = load("ecs-task-state-change.json")
    event["detail"]["containers"][0]["exitCode"] = 1
    assert run_state(event) == ("01JRUN00000000ECS", "failed")
    event["detail"]["stopCode"] = "UserInitiated"
    assert map_service_event(event).state == "stopped"
    event["detail"].update(lastStatus="RUNNING", stopCode=None)
    assert map_service_event(event).state == "running"


def test_ecs_run_id_from_started_by_when_overrides_are_missing():
    event = load("ecs-task-state-change.json")
    event["detail"]["overrides"] = {}
    assert run_state(event)[0] == "01JRUN00000000ECS"


def test_ssm_command_timed_out():
    update = map_service_event(load("ssm-command-status-change.json"))
    assert update.run_id == "01JRUN00000000SSM"
    assert update.state == "failed" and update.reason == "SSM command TimedOut"


def test_foreign_events_are_not_ours():
    assert map_service_event({"detail-type": "EC2 Instance State-change Notification"}) is None
    event = load("ssm-command-status-change.json")
    event["detail"] = {"status": "Success", "parameters": {"commands": ["uptime"]}}
    assert map_service_event(event) is None
