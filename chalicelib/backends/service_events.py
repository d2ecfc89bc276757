"""AWS service state-change events mapped back to a run: pure functions of the event.

- CodeBuild "CodeBuild Build State Change" (source ``aws.codebuild``)
- ECS "ECS Task State Change" (source ``aws.ecs``)
- SSM "EC2 Command Status-change Notification" (source ``aws.ssm``)

Each answers ``ServiceUpdate(run_id, state, backend, runner_id, reason)``, or None for an
event that is not about a MaestrOps runner. ``run_id`` is read from what the backend put in
the request (the ``MAESTRO_RUN_ID`` variable); when the event does not carry it the
controller finds the run by ``runner_id`` (the RunnerRef id it stored).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from chalicelib.backends.base import RunnerState
from chalicelib.backends.codebuild import build_state
from chalicelib.backends.ecs import task_state
from chalicelib.backends.ssm import command_state, run_id_from_commands
from chalicelib.jobs import ENV_RUN_ID

CODEBUILD_DETAIL = "CodeBuild Build State Change"
ECS_DETAIL = "ECS Task State Change"
SSM_DETAIL = "EC2 Command Status-change Notification"
DETAIL_TYPES = (CODEBUILD_DETAIL, ECS_DETAIL, SSM_DETAIL)


class ServiceUpdate(NamedTuple):
    run_id: str | None
    state: RunnerState
    backend: str
    runner_id: str
    reason: str | None = None


def _env_value(variables: list[dict[str, Any]], name: str) -> str | None:
    return next((v.get("value") for v in variables if v.get("name") == name), None)


def from_codebuild(detail: dict[str, Any]) -> ServiceUpdate:
    info = detail.get("additional-information", {})
    variables = info.get("environment", {}).get("environment-variables", [])
    status = detail.get("build-status", "")
    return ServiceUpdate(
        _env_value(variables, ENV_RUN_ID),
        build_state(status),
        "codebuild",
        detail.get("build-id", ""),
        None if status in ("IN_PROGRESS", "SUCCEEDED") else f"CodeBuild build {status}",
    )


def from_ecs(detail: dict[str, Any], container: str = "runner") -> ServiceUpdate:
    overrides = detail.get("overrides", {}).get("containerOverrides", [])
    run_id = next(
        (_env_value(o.get("environment", []), ENV_RUN_ID) for o in overrides), None
    ) or _run_id_from_started_by(detail.get("startedBy", ""))
    state = task_state(detail, container)
    reason = detail.get("stoppedReason") if state in ("failed", "stopped") else None
    return ServiceUpdate(run_id, state, "ecs", detail.get("taskArn", ""), reason)


def _run_id_from_started_by(started_by: str) -> str | None:
    return started_by.removeprefix("maestrops/") if started_by.startswith("maestrops/") else None


def from_ssm(detail: dict[str, Any]) -> ServiceUpdate:
    commands = detail.get("parameters", {}).get("commands", [])
    status = detail.get("status", "")
    return ServiceUpdate(
        run_id_from_commands(commands),
        command_state(status),
        "ssm",
        detail.get("command-id", ""),
        None if status in ("Pending", "InProgress", "Success") else f"SSM command {status}",
    )


def map_service_event(event: dict[str, Any]) -> ServiceUpdate | None:
    """The update an EventBridge event means for a run, or None when it is not ours."""
    detail_type = event.get("detail-type")
    detail = event.get("detail") or {}
    if detail_type == CODEBUILD_DETAIL:
        update = from_codebuild(detail)
    elif detail_type == ECS_DETAIL:
        update = from_ecs(detail)
    elif detail_type == SSM_DETAIL:
        update = from_ssm(detail)
    else:
        return None
    return update if update.run_id or update.runner_id else None


def run_state(event: dict[str, Any]) -> tuple[str, RunnerState] | None:
    """``(run_id, state)`` when the event names its run."""
    update = map_service_event(event)
    if update is None or update.run_id is None:
        return None
    return update.run_id, update.state
