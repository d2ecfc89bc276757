"""The powertools persistence contract, DynamoDB and SQLite alike, through powertools itself."""

from __future__ import annotations

import threading
import time
import warnings

import pytest
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyItemAlreadyExistsError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import DataRecord

from tests.functional.store.conftest import Backend

warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left")


class Handler:
    """A webhook-like function made idempotent on ``delivery`` by powertools."""

    def __init__(
        self,
        layer: object,
        validate: bool = False,
        hold: tuple[threading.Event, threading.Event] | None = None,
    ) -> None:
        self.calls: list[dict] = []
        config = IdempotencyConfig(
            event_key_jmespath="delivery",
            payload_validation_jmespath="body" if validate else None,
        )

        @idempotent_function(data_keyword_argument="event", persistence_store=layer, config=config)
        def handle(event: dict) -> dict:
            self.calls.append(event)
            if hold is not None:  # stay in progress until told
                hold[0].set()
                hold[1].wait(30)
            if event.get("fail"):
                raise RuntimeError("boom")
            return {"accepted": event["delivery"]}

        self.handle = handle


def test_a_delivery_runs_once_and_its_answer_is_replayed_after_a_restart(
    persistence: Backend,
) -> None:
    first = Handler(persistence.open())
    assert first.handle(event={"delivery": "d1"}) == {"accepted": "d1"}
    again = Handler(persistence.open())  # a new container, or local mode after a restart
    assert again.handle(event={"delivery": "d1"}) == {"accepted": "d1"}
    assert again.calls == [] and len(first.calls) == 1
    assert again.handle(event={"delivery": "d2"}) == {"accepted": "d2"}
    assert len(again.calls) == 1


def test_a_delivery_in_progress_is_not_run_twice(persistence: Backend) -> None:
    inside, release = threading.Event(), threading.Event()
    first = Handler(persistence.open(), hold=(inside, release))
    worker = threading.Thread(target=first.handle, kwargs={"event": {"delivery": "d1"}})
    worker.start()
    try:
        assert inside.wait(30)
        with pytest.raises(IdempotencyAlreadyInProgressError):
            Handler(persistence.open()).handle(event={"delivery": "d1"})
    finally:
        release.set()
        worker.join()


def test_a_failed_delivery_is_forgotten_so_a_redelivery_runs(persistence: Backend) -> None:
    handler = Handler(persistence.open())
    with pytest.raises(RuntimeError):
        handler.handle(event={"delivery": "d1", "fail": True})
    assert handler.handle(event={"delivery": "d1"}) == {"accepted": "d1"}
    assert len(handler.calls) == 2


def test_a_redelivery_with_another_body_is_refused(persistence: Backend) -> None:
    handler = Handler(persistence.open(), validate=True)
    handler.handle(event={"delivery": "d1", "body": "a"})
    with pytest.raises(IdempotencyValidationError):
        Handler(persistence.open(), validate=True).handle(event={"delivery": "d1", "body": "b"})


def record(key: str, status: str, expiry: float, in_progress_expiry_ms: float | None) -> DataRecord:
    return DataRecord(
        idempotency_key=key,
        status=status,
        expiry_timestamp=int(expiry),
        in_progress_expiry_timestamp=None
        if in_progress_expiry_ms is None
        else int(in_progress_expiry_ms),
    )


def test_the_conditional_put_replaces_only_expired_or_abandoned_records(
    persistence: Backend,
) -> None:
    layer = persistence.open()
    now = time.time()
    layer._put_record(record("live", "COMPLETED", now + 3600, None))
    layer._put_record(record("expired", "COMPLETED", now - 10, None))
    layer._put_record(record("abandoned", "INPROGRESS", now + 3600, (now - 10) * 1000))
    layer._put_record(record("working", "INPROGRESS", now + 3600, (now + 600) * 1000))
    fresh = persistence.open()
    for key in ("expired", "abandoned"):  # taken over by the new invocation
        fresh._put_record(record(key, "INPROGRESS", now + 3600, (now + 600) * 1000))
        assert fresh._get_record(key).status == "INPROGRESS"
    for key in ("live", "working"):
        with pytest.raises(IdempotencyItemAlreadyExistsError) as refused:
            fresh._put_record(record(key, "INPROGRESS", now + 3600, (now + 600) * 1000))
        assert refused.value.old_data_record is not None
        assert refused.value.old_data_record.idempotency_key == key
