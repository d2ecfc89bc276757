"""The event queue contract: SQS FIFO (moto) and local mode's SQLite queue alike.

Sending is ``chalicelib.queue.base.EventQueue``; receiving is
``chalicelib.queue.consumer.QueueConsumer`` (Lambda's event source in AWS, the loop locally).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.events.trigger import Trigger
from tests.functional.store.conftest import QueuePair, queue_backend


def trigger(repo: str, delivery: str) -> Trigger:
    return Trigger(delivery_id=delivery, event="push", repo=repo, sha="a" * 40, branch="main")


def deliveries(messages: list) -> list[str]:
    return [Trigger.model_validate_json(m.body).delivery_id for m in messages]


@pytest.fixture
def queue(kind: str, tmp_path: Path) -> QueuePair:
    """Messages stay hidden for 30 s once received (longer than any test)."""
    return queue_backend(kind, tmp_path, visibility=30, name="contract").open()


@pytest.fixture
def hasty(kind: str, tmp_path: Path) -> QueuePair:
    """Messages come back at once when not deleted (visibility timeout 0)."""
    return queue_backend(kind, tmp_path, visibility=0, name="hasty").open()


def test_a_group_yields_its_messages_in_order(queue: QueuePair) -> None:
    for n in range(5):
        queue.sender.send(trigger("acme/infra", f"d{n}"))
    received = []
    while len(received) < 5:
        batch = queue.consumer.receive(10)
        assert batch, "a message was lost"
        received += batch
        for message in batch:
            queue.consumer.delete(message.receipt)
    assert deliveries(received) == [f"d{n}" for n in range(5)]
    assert {m.group for m in received} == {"acme/infra"}
    assert queue.consumer.receive(10) == []


def test_a_group_with_a_message_in_flight_waits_and_other_groups_do_not(
    queue: QueuePair,
) -> None:
    queue.sender.send(trigger("acme/infra", "i1"))
    queue.sender.send(trigger("acme/infra", "i2"))
    first = queue.consumer.receive(1)
    assert deliveries(first) == ["i1"]
    queue.sender.send(trigger("acme/app", "a1"))
    assert deliveries(queue.consumer.receive(10)) == ["a1"]  # i2 waits behind i1
    queue.consumer.delete(first[0].receipt)
    assert deliveries(queue.consumer.receive(10)) == ["i2"]


def test_a_second_send_of_a_delivery_is_dropped(queue: QueuePair) -> None:
    first = queue.sender.send(trigger("acme/infra", "d1"))
    queue.sender.send(trigger("acme/infra", "d1"))  # accepted, never delivered
    messages = queue.consumer.receive(10)
    assert deliveries(messages) == ["d1"] and messages[0].message_id == first


def test_a_message_not_deleted_comes_back_then_goes_aside(hasty: QueuePair) -> None:
    hasty.sender.send(trigger("acme/infra", "poison"))
    hasty.sender.send(trigger("acme/infra", "next"))
    counts = []
    for _ in range(3):  # received, not deleted: the handler failed
        message = hasty.consumer.receive(1)
        assert deliveries(message) == ["poison"]
        counts.append(message[0].receives)
    assert counts == [1, 2, 3]
    after = hasty.consumer.receive(10)  # the fourth receive moves it to the dead letters
    assert deliveries(after) == ["next"]
    assert deliveries(hasty.consumer.dead_letters()) == ["poison"]
