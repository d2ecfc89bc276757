"""The write budget of one scope (a PR, or a sha without PR), as values: limits and decisions.

GitHub allows about 80 content-creating requests a minute and 500 an hour, and at most 1,000
statuses per sha and context. ``BudgetState`` keeps what a scope sent lately, what each sha
and context used and the writes that wait (one per comment thread or status context, a newer
write replacing an older one), and decides each write against both sliding windows.

Everything here is pure: ``chalicelib.budget.ledger`` reads a state through ``BudgetTable``,
decides, and writes it back; ``chalicelib.store.budget`` holds the DynamoDB, S3 and in-memory
tables; ``chalicelib.githost.budgeted`` applies the budget to every write (docs/github.md).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

CONTENT_PER_MINUTE = 80
CONTENT_PER_HOUR = 500
STATUSES_PER_SHA_CONTEXT = 1_000
STATUS_COUNTS_KEPT = 200  # (sha, context) counts kept per PR, most recent first

WriteKind = Literal["comment", "comment_parts", "status"]


@dataclass(frozen=True)
class BudgetScope:
    """Whose budget: a PR of a repository, or one sha when the PR is unknown."""

    repo: str
    pr: int | None = None
    sha: str | None = None

    @property
    def name(self) -> str:
        return f"{self.repo}#{self.pr}" if self.pr is not None else f"{self.repo}#sha-{self.sha}"

    @property
    def rate_limited(self) -> bool:
        """Per-sha budgets count statuses only; the request rate is the PR's."""
        return self.pr is not None

    @classmethod
    def parse(cls, name: str) -> BudgetScope:
        repo, _, rest = name.rpartition("#")
        if rest.startswith("sha-"):
            return cls(repo=repo, sha=rest[4:])
        return cls(repo=repo, pr=int(rest))


@dataclass
class PendingWrite:
    """A write that waits for room in the budget; ``payload`` is what the Git host call needs."""

    key: str  # comment:<thread> or status:<sha>:<context>
    kind: WriteKind
    payload: dict[str, Any]
    sha: str | None = None
    context: str | None = None
    final: bool = True
    queued_at: float = 0.0
    attempts: int = 0  # failed sends so far (flush re-queues a failed write)
    cost: int = 1  # content-creating requests it makes (a split comment: one per part)
    serial: int = 0  # the budget's count of offers when it was offered: orders a key's writes
    claimed_until: float = 0.0  # a flush is sending it; sent again if not settled by then
    body_ref: str | None = None  # S3 key of the bodies when they were too big for the item

    @property
    def status_key(self) -> str | None:
        return f"{self.sha}\x1f{self.context}" if self.sha and self.context else None


@dataclass
class BudgetState:
    """One scope's budget: what it sent lately, what each sha and context used, what waits.

    GitHub counts requests per minute and per hour, so the budget keeps the times of the
    requests of the last hour (at most ``per_hour`` of them, a few KB) and checks both sliding
    windows: a token bucket of 80 refilling at 80 a minute would let 160 through in a minute.
    """

    windows: tuple[tuple[float, int], ...]  # (seconds, requests allowed in any such window)
    sent: list[float] = field(default_factory=list)  # sorted request times, last hour only
    statuses: dict[str, int] = field(default_factory=dict)  # insertion order: oldest first
    pending: dict[str, PendingWrite] = field(default_factory=dict)
    serial: int = 0  # offers so far
    status_cap: int = STATUSES_PER_SHA_CONTEXT
    version: int = 0

    # -- decisions (pure) ----------------------------------------------------------------
    def status_allowed(self, write: PendingWrite) -> bool:
        if write.status_key is None:
            return True
        sent = self.statuses.get(write.status_key, 0)
        # The last slot is kept for a final state, so a sha never ends on a stale "pending".
        return sent < self.status_cap - 1 or (write.final and sent < self.status_cap)

    def rate_allowed(self, write: PendingWrite, now: float, limited: bool) -> bool:
        return not limited or self.ready_at(write, now) <= now

    def ready_at(self, write: PendingWrite, now: float) -> float:
        """The earliest time ``write``'s requests fit in every window."""
        at = now
        for seconds, limit in self.windows:
            inside = self.sent[bisect.bisect_right(self.sent, now - seconds) :]
            # A write dearer than a whole window goes when the window is empty.
            excess = len(inside) + min(max(write.cost, 1), limit) - limit
            if excess > 0:
                at = max(at, inside[excess - 1] + seconds)
        return at

    def spend(self, write: PendingWrite, now: float, limited: bool) -> None:
        if limited:
            longest = max(seconds for seconds, _ in self.windows)
            del self.sent[: bisect.bisect_right(self.sent, now - longest)]
            for _ in range(max(write.cost, 1)):
                bisect.insort(self.sent, now)  # Lambdas' clocks differ a little: keep it sorted
        if write.status_key is not None:
            self.statuses[write.status_key] = self.statuses.pop(write.status_key, 0) + 1
            _keep_newest(self.statuses)

    def holds(self, write: PendingWrite) -> bool:
        """Whether ``write`` is still its key's pending write (no newer one replaced it)."""
        current = self.pending.get(write.key)
        return current is not None and current.serial == write.serial

    def offer(
        self,
        write: PendingWrite,
        now: float,
        limited: bool,
        waiting: Callable[[], PendingWrite] | None = None,
    ) -> bool:
        """True: ``write`` goes now (counted); False: it is ``write.key``'s pending write.

        ``waiting`` gives the form kept when it waits (large bodies moved out of the item).
        """
        self.serial += 1
        write.serial = self.serial
        if self.status_allowed(write) and self.rate_allowed(write, now, limited):
            self.spend(write, now, limited)
            self.pending.pop(write.key, None)  # superseded by what goes out now
            return True
        kept = waiting() if waiting else write
        kept.serial = write.serial
        self.pending.pop(write.key, None)  # re-inserted last: queued order is send order
        self.pending[write.key] = kept
        return False

    def take_due(self, now: float, limited: bool, claim: float) -> list[PendingWrite]:
        """The pending writes that may go now, oldest first, counted as sent.

        They stay pending, claimed for ``claim`` seconds: the flush settles each once GitHub
        took it, and one that dies mid-way leaves them to the next flush after the claim.
        """
        ready: list[PendingWrite] = []
        for write in self.pending.values():
            if write.claimed_until > now:
                continue  # another flush is sending it
            if not self.status_allowed(write):
                continue  # waits for a final state of the same sha and context
            if not self.rate_allowed(write, now, limited):
                break  # in queued order: a later, cheaper write does not jump ahead
            self.spend(write, now, limited)
            write.claimed_until = now + claim
            ready.append(replace(write, payload=dict(write.payload)))
        return ready

    def next_due_at(self, now: float, limited: bool) -> float | None:
        """When a pending write may go next; ``None`` when nothing waits that could ever go."""
        sendable = [write for write in self.pending.values() if self.status_allowed(write)]
        if not sendable:
            return None  # only writes over the status cap wait: no schedule can help them
        claims = [w.claimed_until for w in sendable if w.claimed_until > now]
        free = [w for w in sendable if w.claimed_until <= now]
        if free:
            claims.append(self.ready_at(free[0], now) if limited else now)
        return min(claims)

    # -- (de)serialisation -----------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps(
            {
                "sent": [round(at, 3) for at in self.sent],
                "statuses": list(self.statuses.items()),
                "serial": self.serial,
                "pending": [vars(write) for write in self.pending.values()],  # asdict is slow
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str | None, limits: BudgetLimits, version: int) -> BudgetState:
        state = limits.fresh()
        state.version = version
        if not raw:
            return state
        data = json.loads(raw)
        state.sent = [float(at) for at in data["sent"]]
        state.statuses = {key: int(count) for key, count in data["statuses"]}
        state.serial = int(data.get("serial", 0))
        state.pending = {w["key"]: PendingWrite(**w) for w in data["pending"]}
        return state


@dataclass(frozen=True)
class BudgetLimits:
    """GitHub's limits by default; tests lower them to reach the edges quickly."""

    per_minute: int = CONTENT_PER_MINUTE
    per_hour: int = CONTENT_PER_HOUR
    statuses_per_context: int = STATUSES_PER_SHA_CONTEXT

    def fresh(self) -> BudgetState:
        return BudgetState(
            windows=((60.0, self.per_minute), (3600.0, self.per_hour)),
            status_cap=self.statuses_per_context,
        )


class BudgetTable(Protocol):
    """Where budget states live; ``put`` holds only if the stored version is ``expected``."""

    def get(self, scope: BudgetScope) -> tuple[str, int] | None: ...

    def put(
        self, scope: BudgetScope, state: str, version: int, expected: int | None, due: float | None
    ) -> bool: ...

    def due_scopes(self, now: float) -> list[BudgetScope]: ...


class BodyStore(Protocol):
    """Where pending comment bodies too large for the budget item are kept."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


def _keep_newest(counts: dict[str, int]) -> None:
    """Bound a per-key map to its ``STATUS_COUNTS_KEPT`` most recently touched keys."""
    while len(counts) > STATUS_COUNTS_KEPT:
        del counts[next(iter(counts))]
