"""The write budget of a PR, persisted in the main table so it holds across Lambda invocations.

``chalicelib.budget.limits`` is the in-memory model (limits, coalescing per key); this module
keeps one budget per (repository, PR) in one item and decides every write against it
(docs/store.md, docs/github.md):

- ``pk=BUDGET#<owner/name>#<pr>``, ``sk=BUDGET``: ``state`` (JSON: the request times of the
  last hour, the status counts per sha and context, the pending writes keyed by comment thread
  or status context), ``version``, and while something waits ``gsi4pk=BUDGET#PENDING``,
  ``gsi4sk=<next due time>#<scope>`` (index ``by_status``), which is how the
  ``flush_feedback`` schedule finds them; an idle item expires (TTL) a week later;
- a status whose PR is unknown (push pipelines) has a budget of its own per sha,
  ``pk=BUDGET#<owner/name>#sha-<sha>``, limited only by the 1,000 statuses per sha and context.

Every decision is read, decided in memory, written back with a ``PutItem`` conditioned on the
``version`` read, and retried from a fresh read when another writer won, like the leases of
``chalicelib.store.locks``. A pending comment body longer than ``INLINE_BODY_BYTES`` is kept in
S3 under ``feedback/<owner/name>/<pr>/<key>/<uuid>`` and the item holds the pointer, so an item
stays in the tens of KB (pending keys are one per thread and status context; a busy hour of
40 threads and 20 contexts measured 42 KB); one that would pass ``MAX_ITEM_BYTES`` is refused
with ``BudgetItemFullError`` and the Git host sends the write instead.

The clock is wall time (epoch seconds), injected: budgets outlive the process that wrote them.
"""

from __future__ import annotations

import bisect
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol
from urllib.parse import quote

from boto3.dynamodb.conditions import Key

from chalicelib.budget.limits import (
    CONTENT_PER_HOUR,
    CONTENT_PER_MINUTE,
    STATUSES_PER_SHA_CONTEXT,
)

PENDING_PARTITION = "BUDGET#PENDING"
PENDING_INDEX = "by_status"
MAX_ATTEMPTS = 10
BACKOFF_SECONDS = 0.01  # doubled each attempt up to half a second, jittered (full jitter)
INLINE_BODY_BYTES = 1024  # larger pending bodies go to S3
STATUS_COUNTS_KEPT = 200  # (sha, context) counts kept per PR, most recent first
CLAIM_SECONDS = 300.0  # the flush Lambda's timeout: a write it did not settle by then goes again
MAX_ITEM_BYTES = 350_000  # DynamoDB's limit is 400 KB; refuse well before it
IDLE_TTL_SECONDS = 7 * 24 * 3600  # a budget with nothing pending is deleted a week later

WriteKind = Literal["comment", "comment_parts", "status"]


class BudgetContentionError(Exception):
    """The budget item kept changing under us (``MAX_ATTEMPTS`` conflicts in a row)."""


class BudgetItemFullError(Exception):
    """Keeping one more pending write would take the item near DynamoDB's 400 KB."""


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
    per_minute: int = CONTENT_PER_MINUTE
    per_hour: int = CONTENT_PER_HOUR
    statuses_per_context: int = STATUSES_PER_SHA_CONTEXT

    def fresh(self) -> BudgetState:
        return BudgetState(
            windows=((60.0, self.per_minute), (3600.0, self.per_hour)),
            status_cap=self.statuses_per_context,
        )


# -- storage ----------------------------------------------------------------------------------


class BudgetTable(Protocol):
    """Where budget states live; ``put`` holds only if the stored version is ``expected``."""

    def get(self, scope: BudgetScope) -> tuple[str, int] | None: ...

    def put(
        self, scope: BudgetScope, state: str, version: int, expected: int | None, due: float | None
    ) -> bool: ...

    def due_scopes(self, now: float) -> list[BudgetScope]: ...


class BodyStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


def due_sort_key(when: float) -> str:
    """Sorts as a string in time order (the index's sort key is a string)."""
    return f"{max(when, 0.0):017.3f}"


class DynamoBudgetTable:
    def __init__(
        self, table_name: str, resource: Any = None, clock: Callable[[], float] = time.time
    ):
        if resource is None:
            import boto3

            resource = boto3.resource("dynamodb")
        self._table = resource.Table(table_name)
        self._clock = clock

    @staticmethod
    def _key(scope: BudgetScope) -> dict[str, str]:
        return {"pk": f"BUDGET#{scope.name}", "sk": "BUDGET"}

    def get(self, scope: BudgetScope) -> tuple[str, int] | None:
        item = self._table.get_item(Key=self._key(scope), ConsistentRead=True).get("Item")
        return (item["state"], int(item["version"])) if item else None

    def put(
        self, scope: BudgetScope, state: str, version: int, expected: int | None, due: float | None
    ) -> bool:
        item: dict[str, Any] = {**self._key(scope), "scope": scope.name, "state": state}
        item["version"] = version
        if due is not None:
            item.update(gsi4pk=PENDING_PARTITION, gsi4sk=f"{due_sort_key(due)}#{scope.name}")
        else:
            item["expires_at"] = int(self._clock()) + IDLE_TTL_SECONDS
        if expected is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "#version = :expected",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":expected": expected},
            }
        try:
            self._table.put_item(Item=item, **condition)
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return False  # another writer won; the caller reads again
        return True

    def due_scopes(self, now: float) -> list[BudgetScope]:
        condition = Key("gsi4pk").eq(PENDING_PARTITION) & Key("gsi4sk").lte(
            f"{due_sort_key(now)}#\uffff"
        )
        kwargs: dict[str, Any] = {"IndexName": PENDING_INDEX, "KeyConditionExpression": condition}
        scopes: list[BudgetScope] = []
        while True:
            response = self._table.query(**kwargs)
            scopes += [BudgetScope.parse(item["scope"]) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return scopes
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


class MemoryBudgetTable:
    """The same contract in memory (unit tests, and local mode without DynamoDB)."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[str, int, float | None]] = {}

    def get(self, scope: BudgetScope) -> tuple[str, int] | None:
        stored = self.items.get(scope.name)
        return (stored[0], stored[1]) if stored else None

    def put(
        self, scope: BudgetScope, state: str, version: int, expected: int | None, due: float | None
    ) -> bool:
        stored = self.items.get(scope.name)
        if (stored[1] if stored else None) != expected:
            return False
        self.items[scope.name] = (state, version, due)
        return True

    def due_scopes(self, now: float) -> list[BudgetScope]:
        due = [(when, name) for name, (_, _, when) in self.items.items() if when is not None]
        return [BudgetScope.parse(name) for when, name in sorted(due) if when <= now]


class S3BodyStore:
    def __init__(self, bucket: str, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("s3")
        self._s3, self._bucket = client, bucket

    def put(self, key: str, data: bytes) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=data)

    def get(self, key: str) -> bytes:
        return self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self._bucket, Key=key)


class MemoryBodyStore:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, data: bytes) -> None:
        self.objects[key] = data

    def get(self, key: str) -> bytes:
        return self.objects[key]

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)


# -- the ledger ---------------------------------------------------------------------------------


class BudgetLedger:
    """Decides writes against persisted budgets; sends nothing itself."""

    def __init__(
        self,
        table: BudgetTable,
        bodies: BodyStore,
        *,
        limits: BudgetLimits | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._table, self._bodies = table, bodies
        self.limits = limits or BudgetLimits()
        self.clock = clock
        self._sleep = sleep

    def offer(self, scope: BudgetScope, write: PendingWrite) -> bool:
        """True: send ``write`` now (the caller does); False: it waits as its key's pending one."""
        write.queued_at = write.queued_at or self.clock()
        stored: list[PendingWrite] = []  # the waiting form, bodies offloaded once at most
        replaced: list[PendingWrite] = []

        def waiting() -> PendingWrite:
            if not stored:
                stored.append(self._stored_form(scope, write))
            return stored[0]

        def decide(state: BudgetState, now: float) -> bool:
            old = state.pending.get(write.key)
            replaced[:] = [old] if old is not None else []
            return state.offer(write, now, scope.rate_limited, waiting=waiting)

        try:
            send_now = self._change(scope, decide)
        except Exception:
            self._forget(stored)  # nothing points at it
            raise
        self._forget([old for old in replaced if old.body_ref not in _refs(stored)])
        if send_now:
            self._forget(stored)  # offloaded on a lost attempt: not needed any more
        return send_now

    def requeue(self, scope: BudgetScope, write: PendingWrite) -> bool:
        """Release the claim of a write whose send failed, unless a newer write replaced it.

        False when it is gone: a newer write of its key went out at once or waits instead,
        and a retry must not undo it.
        """

        def decide(state: BudgetState, now: float) -> bool:
            if not state.holds(write):
                return False
            kept = state.pending[write.key]
            kept.claimed_until, kept.attempts = 0.0, write.attempts + 1
            return True

        return self._change(scope, decide)

    def settle(self, scope: BudgetScope, write: PendingWrite) -> None:
        """``write`` reached GitHub (or is given up): it stops being pending, its body goes."""

        def decide(state: BudgetState, now: float) -> bool:
            if not state.holds(write):
                return False  # replaced meanwhile: the newer write's body is its own
            del state.pending[write.key]
            return True

        if self._change(scope, decide):
            self._forget([write])

    def take_due(self, scope: BudgetScope, now: float | None = None) -> list[PendingWrite]:
        """Pending writes that fit the budget again, claimed by the caller, bodies loaded."""
        decide = lambda state, at: state.take_due(at, scope.rate_limited, CLAIM_SECONDS)  # noqa: E731
        due = self._change(scope, decide, now)
        for write in due:
            self._load(write)
        return due

    def forget_bodies(self, writes: list[PendingWrite]) -> None:
        self._forget(writes)

    def due_scopes(self, now: float | None = None) -> list[BudgetScope]:
        return self._table.due_scopes(self.clock() if now is None else now)

    def state(self, scope: BudgetScope) -> BudgetState:
        stored = self._table.get(scope)
        raw, version = stored if stored else (None, 0)
        return BudgetState.from_json(raw, self.limits, version)

    def _change(
        self,
        scope: BudgetScope,
        decide: Callable[[BudgetState, float], Any],
        at: float | None = None,
    ) -> Any:
        for attempt in range(MAX_ATTEMPTS):
            if attempt:
                self._sleep(random.uniform(0, min(0.5, BACKOFF_SECONDS * 2**attempt)))
            stored = self._table.get(scope)
            raw, version = stored if stored else (None, 0)
            state = BudgetState.from_json(raw, self.limits, version)
            now = self.clock() if at is None else at
            result = decide(state, now)
            encoded = state.to_json()
            if len(encoded) > MAX_ITEM_BYTES:
                raise BudgetItemFullError(f"the write budget of {scope.name} outgrew its item")
            due = state.next_due_at(now, scope.rate_limited)
            expected = version if stored else None
            if self._table.put(scope, encoded, version + 1, expected, due):
                return result
        raise BudgetContentionError(f"the write budget of {scope.name} kept changing")

    def _stored_form(self, scope: BudgetScope, write: PendingWrite) -> PendingWrite:
        """``write`` as the item keeps it: bodies over ``INLINE_BODY_BYTES`` live in S3."""
        bodies = write.payload.get("bodies")
        if bodies is None or write.body_ref is not None:
            return write
        data = json.dumps(bodies).encode()
        if len(data) <= INLINE_BODY_BYTES:
            return write
        # A unique leaf: two writers of one key never overwrite each other's object.
        leaf = f"{quote(write.key, safe='')}/{uuid.uuid4().hex}"
        ref = f"feedback/{scope.repo}/{scope.pr if scope.pr is not None else scope.sha}/{leaf}"
        self._bodies.put(ref, data)
        payload = {k: v for k, v in write.payload.items() if k != "bodies"}
        return replace(write, payload=payload, body_ref=ref)

    def _load(self, write: PendingWrite) -> None:
        if write.body_ref is not None and "bodies" not in write.payload:
            write.payload["bodies"] = json.loads(self._bodies.get(write.body_ref))

    def _forget(self, writes: list[PendingWrite]) -> None:
        for write in writes:
            if write.body_ref is not None:
                self._bodies.delete(write.body_ref)


def _refs(writes: list[PendingWrite]) -> set[str | None]:
    return {write.body_ref for write in writes}


def _keep_newest(counts: dict[str, int]) -> None:
    """Bound a per-key map to its ``STATUS_COUNTS_KEPT`` most recently touched keys."""
    while len(counts) > STATUS_COUNTS_KEPT:
        del counts[next(iter(counts))]
