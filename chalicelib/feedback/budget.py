"""A per-PR write budget that keeps MaestrOps under GitHub's secondary rate limits.

GitHub allows about 80 content-creating requests a minute and 500 an hour, and at most 1,000
statuses per sha and context. A busy PR (many directories, many pushes) could exceed that,
so every write goes through ``WriteBudget.offer``: when the budget allows, the write goes out
now; otherwise it is kept as the pending write of its key (a comment thread, a status
context), replacing an older pending write of the same key. Nothing is dropped that still
matters: the latest state of every key is sent as soon as tokens are back (``due``).

Pure: the clock is injected and nothing here sends anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

CONTENT_PER_MINUTE = 80
CONTENT_PER_HOUR = 500
STATUSES_PER_SHA_CONTEXT = 1_000


@dataclass
class TokenBucket:
    """``capacity`` tokens, refilled continuously at ``capacity / period`` per second."""

    capacity: float
    period: float
    tokens: float = -1.0
    updated: float = 0.0

    def refill(self, now: float) -> None:
        if self.tokens < 0:  # first use: full
            self.tokens, self.updated = self.capacity, now
            return
        rate = self.capacity / self.period
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * rate)
        self.updated = now

    def available(self, now: float) -> bool:
        self.refill(now)
        return self.tokens >= 1

    def take(self) -> None:
        self.tokens -= 1

    def ready_at(self, now: float) -> float:
        self.refill(now)
        missing = max(0.0, 1 - self.tokens)
        return now + missing * self.period / self.capacity


@dataclass(frozen=True)
class StatusKey:
    sha: str
    context: str


@dataclass
class _PrBudget(Generic[T]):
    minute: TokenBucket
    hour: TokenBucket
    # key -> (payload, status key, final): the latest write of each key not sent yet
    pending: dict[str, tuple[T, StatusKey | None, bool]] = field(default_factory=dict)


class WriteBudget(Generic[T]):
    """Budgets per PR (``pr`` is any stable key, e.g. ``"owner/repo#12"``)."""

    def __init__(
        self,
        *,
        per_minute: int = CONTENT_PER_MINUTE,
        per_hour: int = CONTENT_PER_HOUR,
        statuses_per_context: int = STATUSES_PER_SHA_CONTEXT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._per_minute, self._per_hour = per_minute, per_hour
        self._status_cap = statuses_per_context
        self._clock = clock
        self._prs: dict[str, _PrBudget[T]] = {}
        self._statuses_sent: dict[StatusKey, int] = {}

    def _pr(self, pr: str) -> _PrBudget[T]:
        if pr not in self._prs:
            minute = TokenBucket(capacity=self._per_minute, period=60.0)
            hour = TokenBucket(capacity=self._per_hour, period=3600.0)
            self._prs[pr] = _PrBudget(minute=minute, hour=hour)
        return self._prs[pr]

    def _try_take(self, budget: _PrBudget[T]) -> bool:
        now = self._clock()
        if budget.minute.available(now) and budget.hour.available(now):
            budget.minute.take()
            budget.hour.take()
            return True
        return False

    def _status_allowed(self, status: StatusKey | None, final: bool) -> bool:
        if status is None:
            return True
        sent = self._statuses_sent.get(status, 0)
        # The last slot of a sha and context is kept for a final state (success/failure),
        # so that a PR never ends with a stale "pending" GitHub refuses to replace.
        return sent < self._status_cap - 1 or (final and sent < self._status_cap)

    def offer(
        self, pr: str, key: str, payload: T, *, status: StatusKey | None = None, final: bool = True
    ) -> T | None:
        """``payload`` when it may be sent now; ``None`` when it waits as ``key``'s pending write.

        ``status`` marks a commit status write (counted against the per sha/context cap);
        ``final`` says whether it is a final state (success, failure, error).
        """
        budget = self._pr(pr)
        if self._status_allowed(status, final) and self._try_take(budget):
            budget.pending.pop(key, None)  # superseded by what goes out now
            self._count_status(status)
            return payload
        budget.pending[key] = (payload, status, final)
        return None

    def _count_status(self, status: StatusKey | None) -> None:
        if status is not None:
            self._statuses_sent[status] = self._statuses_sent.get(status, 0) + 1

    def due(self, pr: str) -> list[tuple[str, T]]:
        """The pending writes that may go now (oldest key first); their tokens are taken."""
        budget = self._pr(pr)
        ready: list[tuple[str, T]] = []
        for key, (payload, status, final) in list(budget.pending.items()):
            if not self._status_allowed(status, final):
                continue  # waits for a final state of the same sha and context
            if not self._try_take(budget):
                break
            del budget.pending[key]
            self._count_status(status)
            ready.append((key, payload))
        return ready

    def pending(self, pr: str) -> dict[str, T]:
        return {key: entry[0] for key, entry in self._pr(pr).pending.items()}

    def next_due_at(self, pr: str) -> float | None:
        """When the next pending write of ``pr`` may go (clock time), ``None`` if none waits."""
        budget = self._pr(pr)
        if not budget.pending:
            return None
        now = self._clock()
        return max(budget.minute.ready_at(now), budget.hour.ready_at(now))
