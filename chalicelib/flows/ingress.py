"""The webhook's whole job: verify, parse, filter, dedupe, enqueue. Nothing slow.

``WebhookIngress.handle`` returns an outcome (status and JSON body) for every input; the
Chalice route only maps it to a response.

GitHub sends a hook's payload as ``application/json`` or, when the hook is set so, as
``application/x-www-form-urlencoded`` with the JSON in the ``payload`` field. Either way the
signature covers the raw body, so it is checked before the form is decoded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.utilities.idempotency import (
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import (
    BasePersistenceLayer,
    DataRecord,
)

from chalicelib import metric_names
from chalicelib.events.exceptions import (
    MalformedPayloadError,
    MissingHeaderError,
    PayloadTooLargeError,
    SignatureError,
    WebhookError,
)
from chalicelib.events.signature import is_valid_signature
from chalicelib.events.trigger import SUPPORTED_EVENTS, Trigger, trigger_from_payload
from chalicelib.observability import emit_metric, logger
from chalicelib.queue.base import EventQueue
from chalicelib.settings import IDEMPOTENCY_SECONDS, Settings

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass
class WebhookOutcome:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


class WebhookIngress:
    def __init__(
        self,
        settings: Settings,
        secret: Callable[[], bytes],
        queue: EventQueue,
        persistence: BasePersistenceLayer,
    ) -> None:
        self._settings = settings
        self._secret = secret
        self._queue = queue
        self._config = IdempotencyConfig(
            event_key_jmespath="delivery_id",
            expires_after_seconds=IDEMPOTENCY_SECONDS,
            response_hook=_mark_duplicate,
        )
        self._enqueue_once = idempotent_function(
            data_keyword_argument="trigger",
            persistence_store=persistence,
            config=self._config,
        )(self._enqueue)

    def handle(
        self, headers: Mapping[str, str], body: bytes, lambda_context: Any = None
    ) -> WebhookOutcome:
        """Answer one delivery. ``lambda_context`` (the invocation's, when there is one) tells
        powertools when this invocation times out: a delivery whose invocation was killed is
        "in progress" only until then, so GitHub's redelivery is processed, not dropped."""
        if lambda_context is not None:
            self._config.register_lambda_context(lambda_context)
        try:
            return self._handle(_lower_keys(headers), body)
        except WebhookError as exc:
            if isinstance(exc, SignatureError):
                emit_metric(metric_names.WEBHOOK_REJECTED)
            logger.warning("webhook refused", extra={"code": exc.code, "reason": str(exc)})
            return WebhookOutcome(exc.status, {"error": {"code": exc.code, "message": str(exc)}})

    def _handle(self, headers: dict[str, str], body: bytes) -> WebhookOutcome:
        if len(body) > self._settings.max_body_bytes:
            raise PayloadTooLargeError(
                f"body of {len(body)} bytes exceeds {self._settings.max_body_bytes}"
            )
        if not is_valid_signature(self._secret(), body, headers.get("x-hub-signature-256")):
            raise SignatureError("X-Hub-Signature-256 is missing or does not match the body")
        event = _required(headers, "x-github-event")
        delivery = _required(headers, "x-github-delivery")
        if event == "ping":
            return WebhookOutcome(200, {"message": "pong", "delivery": delivery})
        if event not in SUPPORTED_EVENTS:
            return self._ignored(delivery, f"event {event!r} is not one MaestrOps acts on")
        payload = json_payload(headers.get("content-type", ""), body)
        trigger = trigger_from_payload(event, delivery, payload)
        if not self._settings.is_repo_allowed(trigger.repo):
            return self._ignored(delivery, f"repository {trigger.repo} is not in the allow-list")
        return self._accept(trigger)

    def _accept(self, trigger: Trigger) -> WebhookOutcome:
        try:
            result = self._enqueue_once(trigger=trigger.model_dump(mode="json"))
        except IdempotencyAlreadyInProgressError:
            result = {"duplicate": True, "message_id": None}
        if result.get("duplicate"):
            emit_metric(metric_names.WEBHOOK_DUPLICATE)
            logger.info("duplicate delivery", extra={"delivery": trigger.delivery_id})
            return WebhookOutcome(200, {"message": "duplicate delivery", **_ids(trigger)})
        emit_metric(metric_names.WEBHOOK_ACCEPTED)
        logger.info("delivery queued", extra=_ids(trigger))
        return WebhookOutcome(202, {"message": "queued", **_ids(trigger), **result})

    def _enqueue(self, trigger: dict[str, Any]) -> dict[str, Any]:
        message_id = self._queue.send(Trigger.model_validate(trigger))
        return {"message_id": message_id, "duplicate": False}

    def _ignored(self, delivery: str, reason: str) -> WebhookOutcome:
        emit_metric(metric_names.WEBHOOK_IGNORED)
        logger.info("delivery ignored", extra={"delivery": delivery, "reason": reason})
        return WebhookOutcome(202, {"message": "ignored", "reason": reason, "delivery": delivery})


def _mark_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    """powertools calls this only when it answers from the idempotency store."""
    return {**response, "duplicate": True} if isinstance(response, dict) else response


def json_payload(content_type: str, body: bytes) -> bytes:
    """The JSON document of a delivery: the body itself, or a form body's ``payload`` field.

    >>> json_payload("application/x-www-form-urlencoded", b"payload=%7B%7D")
    b'{}'
    """
    if content_type.split(";")[0].strip().lower() != FORM_CONTENT_TYPE:
        return body
    try:
        fields = parse_qs(body.decode(), strict_parsing=True, max_num_fields=8)
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPayloadError(f"form body is not URL-encoded: {exc}") from None
    values = fields.get("payload", [])
    if len(values) != 1:
        raise MalformedPayloadError("form body: the payload field is required, once")
    return values[0].encode()


def _ids(trigger: Trigger) -> dict[str, Any]:
    return {"delivery": trigger.delivery_id, "event": trigger.event, "repo": trigger.repo}


def _required(headers: dict[str, str], name: str) -> str:
    value = headers.get(name, "").strip()
    if not value:
        raise MissingHeaderError(f"header {name} is required")
    return value


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}
