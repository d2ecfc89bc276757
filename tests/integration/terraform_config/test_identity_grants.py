"""Who may hand the runner identities to CodeBuild and ECS, read from the parsed HCL and the
hand-written Chalice policies (the applied roles themselves: test_identities.py, on moto)."""

from __future__ import annotations

import json
from typing import Any

RUNNER_ROLES = ["${aws_iam_role.runner_plan.arn}", "${aws_iam_role.runner_apply.arn}"]
STARTERS = {"dispatch_events", "on_runner_event", "api_handler", "sweep_locks"}


def _lambda_statements(hcl) -> dict[str, dict[str, Any]]:
    """sid -> (content, for_each) of the dynamic statements of the Lambda policy document."""
    _, _, body = next(
        entry for entry in hcl.data("aws_iam_policy_document") if entry[1] == "lambda"
    )
    found = {}
    for dynamic in body.get("dynamic", []):
        block = dynamic["statement"]
        for content in block.get("content", []):
            found[content["sid"]] = {**content, "for_each": block["for_each"]}
    return found


def test_the_starters_may_pass_exactly_the_two_runner_identities(hcl) -> None:
    statements = _lambda_statements(hcl)
    passing = {sid: s for sid, s in statements.items() if "iam:PassRole" in s["actions"]}
    assert set(passing) == {"PassTheRunnerIdentities", "PassTheEcsAgentRole"}
    identities = passing["PassTheRunnerIdentities"]
    assert identities["resources"] == RUNNER_ROLES
    condition = identities["condition"][0]
    assert condition["variable"] == "iam:PassedToService"
    assert sorted(condition["values"]) == ["codebuild.amazonaws.com", "ecs-tasks.amazonaws.com"]
    assert passing["PassTheEcsAgentRole"]["resources"] == ["${aws_iam_role.ecs_execution.arn}"]
    assert passing["PassTheEcsAgentRole"]["condition"][0]["values"] == ["ecs-tasks.amazonaws.com"]
    for sid in passing:
        for name in STARTERS:
            assert f'"{name}"' in passing[sid]["for_each"], (sid, name)


def test_the_runner_project_and_task_default_to_the_plan_identity(hcl) -> None:
    ((_, _, project),) = hcl.resources("aws_codebuild_project")
    assert project["service_role"] == "${aws_iam_role.runner_plan.arn}"
    ((_, _, task),) = hcl.resources("aws_ecs_task_definition")
    assert task["task_role_arn"] == "${aws_iam_role.runner_plan.arn}"
    assert "INFRACOST_API_KEY" not in json.dumps(project) + json.dumps(task)


def test_the_chalice_policies_pass_the_same_roles_to_both_services(kit) -> None:
    seen = 0
    for path in sorted((kit.REPO / ".chalice").glob("policy-*.json")):
        stage = "prod" if "-prod-" in path.name else "dev"
        for statement in json.loads(path.read_text())["Statement"]:
            actions = statement["Action"]
            if "iam:PassRole" not in ([actions] if isinstance(actions, str) else actions):
                continue
            assert statement["Resource"] == [
                f"arn:aws:iam::*:role/maestrops-{stage}-runner-plan",
                f"arn:aws:iam::*:role/maestrops-{stage}-runner-apply",
                f"arn:aws:iam::*:role/maestrops-{stage}-ecs-execution",
            ], path.name
            services = statement["Condition"]["StringEquals"]["iam:PassedToService"]
            assert sorted(services) == ["codebuild.amazonaws.com", "ecs-tasks.amazonaws.com"]
            seen += 1
    assert seen == 6  # api, dispatch and events of both stages; the reaper starts nothing
