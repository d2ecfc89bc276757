"""The deployable configuration: stages, runtime, and hand-written least-privilege policies."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
FUNCTIONS = {
    "api_handler",
    "dispatch_events",
    "on_runner_event",
    "reap_stuck_runs",
    "sweep_locks",
    "flush_feedback",
}


def policy(stage: str, function: str) -> dict:
    stage_config = CONFIG["stages"][stage]
    name = stage_config["lambda_functions"][function]["iam_policy_file"]
    return json.loads((ROOT / ".chalice" / name).read_text())


def actions(document: dict) -> list[str]:
    found = []
    for statement in document["Statement"]:
        value = statement["Action"]
        found += [value] if isinstance(value, str) else value
    return found


def test_stages_and_no_runtime_key() -> None:
    assert set(CONFIG["stages"]) == {"dev", "prod"}
    for stage in CONFIG["stages"].values():
        # Chalice ignores such a key: the runtime is the deploying Python's
        # (scripts/chalice_package.py checks the package it produces).
        assert "lambda_runtime" not in stage
        assert stage["autogen_policy"] is False
        assert set(stage["lambda_functions"]) == FUNCTIONS


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_environment_names_the_stage_resources(stage: str) -> None:
    env = CONFIG["stages"][stage]["environment_variables"]
    assert env["MAESTRO_TABLE"] == f"maestrops-{stage}-runs"
    assert env["MAESTRO_WEBHOOK_SECRET_NAME"] == f"maestrops/{stage}/webhook-secret"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "MaestrOps"


@pytest.mark.parametrize("stage", ["dev", "prod"])
@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_policies_are_least_privilege(stage: str, function: str) -> None:
    document = policy(stage, function)
    for action in actions(document):
        assert "*" not in action, f"{function}: wildcard action {action}"
    for statement in document["Statement"]:
        resources = statement["Resource"]
        for resource in [resources] if isinstance(resources, str) else resources:
            assert resource != "*", f"{function}: unscoped resource"
            if ":dynamodb:" in resource or ":sqs:" in resource or ":secretsmanager:" in resource:
                assert f"maestrops-{stage}" in resource or f"maestrops/{stage}/" in resource


def test_each_function_gets_what_its_code_calls_and_no_more() -> None:
    api = actions(policy("prod", "api_handler"))
    assert "sqs:SendMessage" in api  # the webhook enqueues
    assert "codebuild:StartBuild" in api  # DELETE /locks dispatches the next waiting plan
    assert "sqs:ReceiveMessage" not in api
    assert "codebuild:StartBuild" in actions(policy("prod", "dispatch_events"))
    assert "sqs:SendMessage" not in actions(policy("prod", "reap_stuck_runs"))
    reaper = actions(policy("prod", "reap_stuck_runs"))
    assert "codebuild:StartBuild" not in reaper  # it ends runs, never starts one
    assert "secretsmanager:GetSecretValue" in reaper  # every run it ends gets its status
    for function in ("api_handler", "dispatch_events", "on_runner_event", "flush_feedback"):
        assert "s3:PutObject" in actions(policy("prod", function))  # large pending comments
    for stage in ("dev", "prod"):
        for function in sorted(FUNCTIONS):
            # Every function lists locks (BatchGetItem of the leases the listing names) and
            # writes runs or leases (a lock release, a retry, a dispatch are PutItems).
            store = set(actions(policy(stage, function)))
            assert {"dynamodb:BatchGetItem", "dynamodb:PutItem"} <= store, (stage, function)


def pins(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            found[name.lower()] = version
    return found


def test_requirements_txt_pins_the_runtime_dependencies_as_pyproject_does() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = pins(project["dependencies"])
    packaged = pins((ROOT / "requirements.txt").read_text().splitlines())
    # chalice ships its own runtime copy in the package; the Lambda runtime provides boto3.
    assert packaged == {n: v for n, v in declared.items() if n not in {"chalice", "boto3"}}
