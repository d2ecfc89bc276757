from __future__ import annotations

import json

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from chalice.test import Client

from app import app
from tests.functional.conftest import Controller, webhook_headers
from tests.gitrepo import git
from tests.payloads import pull_request, push


def deliver(controller: Controller, client: Client, event: str, payload: dict, delivery: str):
    body = json.dumps(payload).encode()
    response = client.http.post(
        "/webhooks/github", headers=webhook_headers(event, body, delivery), body=body
    )
    assert response.status_code in (200, 202), response.body
    return dispatch(controller, client)


def dispatch(controller: Controller, client: Client, records: list[dict] | None = None) -> dict:
    records = controller.drain_queue() if records is None else records
    response = client.lambda_.invoke("dispatch_events", {"Records": records})
    return response.payload


def runs(client: Client, **params: str) -> list[dict]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = client.http.get(f"/runs?{query}", headers={"Authorization": "Bearer test-token"})
    assert response.status_code == 200, response.body
    return json.loads(response.body)["runs"]


def test_push_to_feature_branch_dispatches_terraform_validate(controller: Controller) -> None:
    sha = controller.commit()
    with Client(app) as client:
        result = deliver(controller, client, "push", push("infra_features", sha), "d-1")
        [run] = runs(client)
    assert result == {"batchItemFailures": []}
    assert (run["pipeline"], run["status"], run["run_number"]) == (
        "terraform-validate",
        "dispatched",
        1,
    )
    [job] = controller.backend.jobs
    assert job.sha == sha and [s.name for s in job.steps] == ["fmt", "init", "validate"]
    assert job.clone_url.endswith("repos/Codertocat/Hello-World")
    [status] = [r for r in controller.outbox_records() if r["kind"] == "status"]
    assert (status["state"], status["context"]) == ("pending", "maestrops/terraform-validate")


def test_run_numbers_grow_per_repository_and_pipeline(controller: Controller) -> None:
    sha = controller.commit()
    with Client(app) as client:
        for number in range(3):  # three pushes (the same sha again would be a replay)
            pushed = controller.commit({"n.txt": f"{number}\n"})
            deliver(controller, client, "push", push("infra_features", pushed), f"d-{number}")
        deliver(controller, client, "push", push("integration", sha), "d-ci")
        numbers = sorted((r["pipeline"], r["run_number"]) for r in runs(client))
    assert numbers == [
        ("ci-application", 1),
        ("terraform-validate", 1),
        ("terraform-validate", 2),
        ("terraform-validate", 3),
    ]


def test_merge_applies_once_although_github_also_sends_the_push(controller: Controller) -> None:
    sha = controller.commit()
    merged = pull_request("closed", "infra_features", "infra_main", sha=sha, merged=True)
    with Client(app) as client:
        deliver(controller, client, "pull_request", merged, "d-merge")
        deliver(controller, client, "push", push("infra_main", sha), "d-push")
        found = runs(client)
    assert [r["pipeline"] for r in found] == ["terraform-apply"]


def test_same_message_twice_creates_one_run(controller: Controller) -> None:
    sha = controller.commit()
    with Client(app) as client:
        body = json.dumps(push("infra_features", sha)).encode()
        client.http.post(
            "/webhooks/github", headers=webhook_headers("push", body, "d-r"), body=body
        )
        records = controller.drain_queue()
        dispatch(controller, client, records)
        dispatch(controller, client, records)  # SQS delivers at least once
        assert len(runs(client)) == 1
    assert len(controller.backend.jobs) == 1


def test_invalid_gitops_yml_is_a_failed_run_naming_the_field(controller: Controller) -> None:
    sha = controller.commit({".gitops.yml": "pipelines: {terraform-plan: {timeout_minutes: 0}}\n"})
    with Client(app) as client:
        deliver(controller, client, "push", push("infra_features", sha), "d-bad")
        [run] = runs(client)
    assert run["status"] == "failed" and run["pipeline"] == "terraform-validate"
    assert "pipelines.terraform-plan.timeout_minutes" in run["error"]
    assert controller.backend.jobs == []


def test_unknown_sha_is_an_error_on_the_run(controller: Controller) -> None:
    controller.commit()
    with Client(app) as client:
        deliver(controller, client, "push", push("infra_features", "f" * 40), "d-ghost")
        [run] = runs(client)
    assert run["status"] == "failed" and "has no commit" in run["error"]


def test_synchronize_supersedes_the_older_plan(controller: Controller) -> None:
    first = controller.commit({"a.tf": "# 1\n"})
    second = controller.commit({"a.tf": "# 2\n"})
    with Client(app) as client:
        opened = pull_request("opened", "infra_features", "infra_main", sha=first)
        deliver(controller, client, "pull_request", opened, "d-open")
        pushed = pull_request("synchronize", "infra_features", "infra_main", sha=second)
        deliver(controller, client, "pull_request", pushed, "d-sync")
        by_sha = {r["sha"]: r for r in runs(client, pr="7")}
    assert by_sha[first]["status"] == "superseded"
    assert by_sha[first]["superseded_by"] == by_sha[second]["id"]
    assert by_sha[second]["status"] == "dispatched"


def test_disallowed_edge_gets_a_failed_status_and_nothing_runs(controller: Controller) -> None:
    sha = controller.commit()
    with Client(app) as client:
        payload = pull_request("opened", "hotfix", "infra_main", sha=sha)
        deliver(controller, client, "pull_request", payload, "d-edge")
        assert runs(client) == []
    [status] = [r for r in controller.outbox_records() if r["kind"] == "status"]
    assert status["state"] == "failure" and "infra_features → infra_main" in status["description"]


def test_poison_message_holds_back_its_repository_only(controller: Controller) -> None:
    """FIFO per repository: a failed message returns with every later one of its group."""
    sha = controller.commit()
    with Client(app) as client:
        body = json.dumps(push("infra_features", sha)).encode()
        client.http.post(
            "/webhooks/github", headers=webhook_headers("push", body, "d-ok"), body=body
        )
        [good] = controller.drain_queue()
        poison = {**good, "messageId": "poison", "body": "{not a trigger"}
        other_group = {
            **good,
            "messageId": "other",
            "attributes": {**good["attributes"], "MessageGroupId": "Codertocat/other"},
        }
        result = dispatch(controller, client, [poison, good, other_group])
        # The good message of the poisoned repository did not run ahead of the poison one.
        failed = [item["itemIdentifier"] for item in result["batchItemFailures"]]
        assert failed == ["poison", good["messageId"]]
        assert len(runs(client)) == 1  # the other group's message ran
        dispatch(controller, client, [good])  # its retry, once the poison went to the DLQ
        assert len(runs(client)) == 1  # same delivery: the same run, not a second one


def test_a_repositorys_events_run_in_the_order_they_were_sent(controller: Controller) -> None:
    """A comment that fails keeps the push sent after it from running first."""
    sha = controller.commit()
    with Client(app) as client:
        for delivery, branch in (("d-first", "infra_features"), ("d-second", "integration")):
            body = json.dumps(push(branch, sha)).encode()
            client.http.post(
                "/webhooks/github", headers=webhook_headers("push", body, delivery), body=body
            )
        first, second = controller.drain_queue()
        broken_first = {**first, "body": "{broken"}
        with pytest.raises(BatchProcessingError):  # the whole batch failed: SQS retries both
            dispatch(controller, client, [broken_first, second])
        assert runs(client) == []
        dispatch(controller, client, [first, second])
        pipelines = [run["pipeline"] for run in sorted(runs(client), key=lambda r: r["created_at"])]
        assert pipelines == ["terraform-validate", "ci-application"]


def test_fork_pr_does_not_plan(controller: Controller) -> None:
    sha = controller.commit()
    git(controller.repo_dir, "branch", "infra_main")  # the fork rule is read there
    with Client(app) as client:
        payload = pull_request("opened", "infra_features", "infra_main", sha=sha, fork=True)
        deliver(controller, client, "pull_request", payload, "d-fork")
        assert runs(client) == []
