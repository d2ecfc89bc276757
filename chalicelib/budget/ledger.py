"""The read-decide-write loop of the write budget: one ``BudgetState`` per scope, persisted.

Every decision reads the scope's state, decides in memory (``chalicelib.budget.state``), and
writes it back with a put conditioned on the version read, retried from a fresh read when
another writer won, like the leases of ``chalicelib.store.locks``. A pending comment body longer
than ``INLINE_BODY_BYTES`` goes to the ``BodyStore`` under
``feedback/<owner/name>/<pr>/<key>/<uuid>`` and the state holds the pointer, so an item stays in
the tens of KB (pending keys are one per thread and status context; a busy hour of 40 threads
and 20 contexts measured 42 KB); one that would pass ``MAX_ITEM_BYTES`` is refused with
``BudgetItemFullError`` and the Git host sends the write instead.

The clock is wall time (epoch seconds), injected: budgets outlive the process that wrote them.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from chalicelib.budget.exceptions import BudgetContentionError, BudgetItemFullError
from chalicelib.budget.state import (
    BodyStore,
    BudgetLimits,
    BudgetScope,
    BudgetState,
    BudgetTable,
    PendingWrite,
)

MAX_ATTEMPTS = 10
BACKOFF_SECONDS = 0.01  # doubled each attempt up to half a second, jittered (full jitter)
INLINE_BODY_BYTES = 1024  # larger pending bodies go to the body store
CLAIM_SECONDS = 300.0  # the flush Lambda's timeout: a write it did not settle by then goes again
MAX_ITEM_BYTES = 350_000  # DynamoDB's limit is 400 KB; refuse well before it


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
