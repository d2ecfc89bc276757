from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
from chalice.test import Client

from app import app
from chalicelib.flows.ingress import WebhookIngress
from tests.functional.conftest import SECRET, Controller, webhook_headers
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


# -- edges: non-ASCII signatures, GitHub's form content type -----------------------------------


def emitted_metrics(out: str) -> list[str]:
    """Metric names in the EMF documents powertools printed."""
    names = []
    for line in out.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
            names += [metric["Name"] for metric in directive["Metrics"]]
    return names


@pytest.mark.parametrize(
    "signature", ["sha256=\u00e9" * 3, "sha256=" + "\u0661" * 64, "\u00e9", "sha256=\udcff"]
)
def test_a_non_ascii_signature_is_a_401_with_the_rejected_metric(
    controller: Controller,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    signature: str,
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    body = json.dumps(push("infra_features")).encode()
    headers = {**webhook_headers("push", body, "d-ascii"), "X-Hub-Signature-256": signature}
    capsys.readouterr()
    response = controller.services.ingress.handle(headers, body)
    assert (response.status, response.body["error"]["code"]) == (401, "invalid_signature")
    assert emitted_metrics(capsys.readouterr().out) == ["WebhookRejected"]
    assert queued_bodies(controller) == [] and idempotency_items() == 0


def form(document: dict | None, *extra: tuple[str, str]) -> bytes:
    fields = [("payload", json.dumps(document))] if document is not None else []
    return urlencode(fields + list(extra)).encode()


def post_form(client: Client, event: str, body: bytes, delivery: str, signed: bytes | None = None):
    headers = webhook_headers(event, signed if signed is not None else body, delivery)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    return client.http.post("/webhooks/github", headers=headers, body=body)


def test_a_form_encoded_delivery_is_verified_on_the_raw_body_then_read(
    controller: Controller,
) -> None:
    body = form(push("infra_features", sha="b" * 40))
    with Client(app) as client:
        response = post_form(client, "push", body, "d-form")
        again = post_form(client, "push", body, "d-form")
    assert (response.status_code, again.status_code) == (202, 200), response.body
    [queued] = queued_bodies(controller)
    assert (queued["branch"], queued["sha"]) == ("infra_features", "b" * 40)


def test_a_form_signed_over_its_payload_instead_of_the_body_is_refused(
    controller: Controller,
) -> None:
    payload = push("infra_features")
    with Client(app) as client:
        response = post_form(client, "push", form(payload), "d-f", json.dumps(payload).encode())
    assert response.status_code == 401
    assert queued_bodies(controller) == [] and idempotency_items() == 0


@pytest.mark.parametrize(
    "body",
    [
        form(None),
        form(None, ("other", "1")),
        form(push("x"), ("payload", "{}")),
        b"payload=%ff",
        b"&&",
    ],
)
def test_a_form_without_exactly_one_json_payload_is_a_400(
    controller: Controller, body: bytes
) -> None:
    with Client(app) as client:
        response = post_form(client, "push", body, "d-bad-form")
    assert response.status_code == 400, response.body
    assert json.loads(response.body)["error"]["code"] == "malformed_payload"
    assert queued_bodies(controller) == []


def test_another_content_type_is_a_415_in_the_error_format(controller: Controller) -> None:
    body = json.dumps(push("infra_features")).encode()
    headers = {**webhook_headers("push", body, "d-text"), "Content-Type": "text/plain"}
    with Client(app) as client:
        response = client.http.post("/webhooks/github", headers=headers, body=body)
    assert response.status_code == 415
    assert json.loads(response.body)["error"]["code"] == "unsupported_media_type"


# -- idempotency and the Lambda context: a timed-out invocation does not swallow a redelivery --


class InvocationTimedOut(BaseException):
    """What a Lambda timeout is to the code it stops: no ``except Exception`` runs after it."""


class QueueThatTimesOutOnce:
    def __init__(self, queue: Any) -> None:
        self._queue = queue
        self.timed_out = False

    def send(self, trigger: Any) -> str:
        if not self.timed_out:
            self.timed_out = True
            raise InvocationTimedOut
        return self._queue.send(trigger)


@dataclass
class FakeLambdaContext:
    """The part of Lambda's context powertools reads."""

    remaining_ms: int

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def ingress_with(controller: Controller, queue: Any) -> WebhookIngress:
    settings = controller.services.settings
    persistence = DynamoDBPersistenceLayer(table_name=settings.idempotency_table)
    return WebhookIngress(settings, SECRET.encode, queue, persistence)


def wait_past_in_progress_expiry() -> None:
    """The stored in-progress expiry is a wall-clock millisecond; let the clock pass it."""
    [item] = boto3.client("dynamodb").scan(TableName="maestrops-idempotency")["Items"]
    expiry = int(item["in_progress_expiration"]["N"])
    while time.time() * 1000 <= expiry:
        time.sleep(0.001)


def test_a_redelivery_after_a_timed_out_invocation_is_processed(controller: Controller) -> None:
    queue = QueueThatTimesOutOnce(controller.services.queue)
    ingress = ingress_with(controller, queue)
    body = json.dumps(push("infra_features")).encode()
    headers = webhook_headers("push", body, "d-timeout")
    with pytest.raises(InvocationTimedOut):  # Lambda stops the invocation at its deadline
        ingress.handle(headers, body, lambda_context=FakeLambdaContext(remaining_ms=0))
    wait_past_in_progress_expiry()
    redelivered = ingress.handle(headers, body, lambda_context=FakeLambdaContext(30_000))
    assert (redelivered.status, redelivered.body["message"]) == (202, "queued")
    assert len(queued_bodies(controller)) == 1
    duplicate = ingress.handle(headers, body, lambda_context=FakeLambdaContext(30_000))
    assert (duplicate.status, duplicate.body["message"]) == (200, "duplicate delivery")


def test_without_the_context_that_redelivery_would_be_dropped(controller: Controller) -> None:
    """Why the context matters: powertools then keeps the delivery in progress until the
    record's own expiry (days), and answers the redelivery as a duplicate."""
    ingress = ingress_with(controller, QueueThatTimesOutOnce(controller.services.queue))
    body = json.dumps(push("infra_features")).encode()
    headers = webhook_headers("push", body, "d-no-context")
    with pytest.raises(InvocationTimedOut):
        ingress.handle(headers, body)
    redelivered = ingress.handle(headers, body)
    assert (redelivered.status, redelivered.body["message"]) == (200, "duplicate delivery")
    assert queued_bodies(controller) == []


def test_the_route_hands_its_lambda_context_to_the_idempotency_layer(
    controller: Controller,
) -> None:
    with Client(app) as client:
        assert post(client, "push", push("infra_features"), delivery="d-ctx").status_code == 202
    [item] = boto3.client("dynamodb").scan(TableName="maestrops-idempotency")["Items"]
    assert "in_progress_expiration" in item  # written only when the remaining time is known
