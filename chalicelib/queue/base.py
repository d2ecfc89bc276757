from __future__ import annotations

from typing import Protocol

from chalicelib.events.trigger import Trigger


class EventQueue(Protocol):
    def send(self, trigger: Trigger) -> str:
        """Enqueue ``trigger`` (ordered per repository); returns the message id."""


class InMemoryQueue:
    """A queue for tests and benchmarks: keeps what was sent."""

    def __init__(self) -> None:
        self.sent: list[Trigger] = []

    def send(self, trigger: Trigger) -> str:
        self.sent.append(trigger)
        return f"mem-{len(self.sent)}"
