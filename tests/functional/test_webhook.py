from __future__ import annotations

import json

import boto3
import pytest
from chalice.test import Client

from app import app
from tests.functional.conftest import Controller, webhook_headers
from tests.payloads import load_event, push


def post(client: Client, event: str, payload: dict | bytes, delivery: str = "d-1", **kw):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = webhook_headers(event, body, delivery, **kw)
    return client.http.post("/webhooks/github", headers=headers, body=body)


def queued_bodies(controller: Controller) -> list[dict]:
    return [json.loads(record["body"]) for record in controller.drain_queue()]


def idempotency_items() -> int:
    return boto3.client("dynamodb").scan(TableName="maestrops-idempotency")["Count"]


def test_accepted_push_is_queued_per_repository(controller: Controller) -> None:
    with Client(app) as client:
        response = post(client, "push", push("infra_features"))
    assert response.status_code == 202, response.body
    assert json.loads(response.body)["message"] == "queued"
    [message] = controller.drain_queue()
    assert json.loads(message["body"])["branch"] == "infra_features"
    assert message["attributes"]["MessageGroupId"] == "Codertocat/Hello-World"


def test_redelivery_is_answered_but_never_queued_twice(controller: Controller) -> None:
    with Client(app) as client:
        first = post(client, "push", push("infra_features"), delivery="same")
        second = post(client, "push", push("infra_features"), delivery="same")
    assert (first.status_code, second.status_code) == (202, 200)
    assert json.loads(second.body)["message"] == "duplicate delivery"
    assert len(queued_bodies(controller)) == 1


def test_delivery_ids_are_remembered_longer_than_github_redelivers(controller: Controller) -> None:
    """GitHub lets users redeliver for three days: the record must outlive that window."""
    import time

    with Client(app) as client:
        assert post(client, "push", push("infra_features"), delivery="late").status_code == 202
    [item] = boto3.client("dynamodb").scan(TableName="maestrops-idempotency")["Items"]
    assert int(item["expiration"]["N"]) - time.time() > 3 * 24 * 3600 + 3600


@pytest.mark.parametrize("secret", ["wrong-secret", None])
def test_bad_or_missing_signature_is_401_and_stores_nothing(controller: Controller, secret) -> None:
    body = json.dumps(push("infra_features")).encode()
    headers = webhook_headers("push", body, "d-bad", secret=secret or "x")
    if secret is None:
        del headers["X-Hub-Signature-256"]
    with Client(app) as client:
        response = client.http.post("/webhooks/github", headers=headers, body=body)
    assert response.status_code == 401
    assert json.loads(response.body)["error"]["code"] == "invalid_signature"
    assert queued_bodies(controller) == [] and idempotency_items() == 0


def test_ping_is_200(controller: Controller) -> None:
    with Client(app) as client:
        assert post(client, "ping", load_event("ping")).status_code == 200


def test_unsupported_event_is_202_with_a_reason(controller: Controller) -> None:
    with Client(app) as client:
        response = post(client, "check_run", {"action": "created"})
    assert response.status_code == 202
    assert "not one MaestrOps acts on" in json.loads(response.body)["reason"]
    assert queued_bodies(controller) == []


def test_repository_outside_allow_list_is_ignored(controller: Controller) -> None:
    with Client(app) as client:
        response = post(client, "push", push("infra_features", repo="evil/repo"))
    assert response.status_code == 202
    assert "allow-list" in json.loads(response.body)["reason"]
    assert queued_bodies(controller) == [] and idempotency_items() == 0


@pytest.mark.parametrize(
    ("headers_to_drop", "body", "code"),
    [
        ([], b"{broken", "malformed_payload"),
        (["X-GitHub-Event"], None, "missing_header"),
        (["X-GitHub-Delivery"], None, "missing_header"),
    ],
)
def test_malformed_requests_are_400(controller: Controller, headers_to_drop, body, code) -> None:
    body = body or json.dumps(push("infra_features")).encode()
    headers = webhook_headers("push", body, "d-x")
    for name in headers_to_drop:
        del headers[name]
    with Client(app) as client:
        response = client.http.post("/webhooks/github", headers=headers, body=body)
    assert response.status_code == 400
    assert json.loads(response.body)["error"]["code"] == code


def test_body_over_the_limit_is_413(controller: Controller) -> None:
    controller.services.settings.max_body_bytes = 1000
    body = json.dumps(push("infra_features")).encode()
    assert len(body) > 1000
    with Client(app) as client:
        response = client.http.post(
            "/webhooks/github", headers=webhook_headers("push", body, "d-big"), body=body
        )
    assert response.status_code == 413
