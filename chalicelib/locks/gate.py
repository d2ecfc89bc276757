"""What the dispatcher asks of the locks: may this plan run, may this apply touch the state.

The gate turns runs into lease decisions (``lease.py``), persists them through a lock store
and records on the run what the decision was (``fencing_token`` once granted, ``waiting_for``
while queued). Promotions (a waiter that became holder) are returned to the caller, which
dispatches them: the gate never starts a runner itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, Field

from chalicelib.jobs import Pipeline
from chalicelib.locks.exceptions import LockNotFoundError
from chalicelib.locks.lease import (
    DEFAULT_LEASE_SECONDS,
    Claimant,
    Grant,
    Lease,
    LeaseChange,
    LockKey,
    acquire,
    expire,
    fence_problem,
    release,
    skip_holder,
)
from chalicelib.observability import logger
from chalicelib.pipelines.config import GitOpsConfig
from chalicelib.runs.exceptions import RunError, RunNotFoundError
from chalicelib.runs.model import Run, RunStatus

T = TypeVar("T")
FENCING_PARAMETER = "fencing_token"
Decide = Callable[[Lease, Callable[[int], int]], LeaseChange]
STUCK_SECONDS = 300  # far above the seconds one dispatch takes


class LockStore(Protocol):
    def get(self, key: LockKey) -> Lease | None: ...
    def change(self, key: LockKey, decide: Callable[..., tuple[Lease, T]]) -> T: ...
    def find(self, repo: str | None = None) -> list[Lease]: ...
    def record_grant(self, run_id: str, token: int) -> None: ...
    def record_wait(self, run_id: str, holder_pr: int, lock_id: str) -> None: ...
    def granted_token(self, run_id: str) -> int | None: ...


class RunReader(Protocol):
    def get(self, run_id: str) -> Run: ...
    def transition(self, run_id: str, target: RunStatus, **changes: Any) -> Run: ...


class Promotion(BaseModel):
    """A queued plan run that now holds the lease: dispatch it."""

    key: LockKey
    run: Run
    clone_url: str | None = None
    token: int


class Admission(BaseModel):
    go: bool  # False: the run waits for another PR's lease
    grant: Grant | None = None
    key: LockKey | None = None
    promotions: list[Promotion] = Field(default_factory=list)


class Fence(BaseModel):
    parameters: dict[str, str] = Field(default_factory=dict)  # for the JobSpec
    problem: str | None = None  # why the apply must not run


def lock_key(repo: str, config: GitOpsConfig) -> LockKey:
    return LockKey(repo=repo, directory=config.terraform.dir, workspace=config.terraform.workspace)


def needs_lease(run: Run) -> bool:
    return run.pipeline == Pipeline.TERRAFORM_PLAN and run.pr is not None


class LockGate:
    def __init__(
        self,
        leases: LockStore,
        runs: RunReader,
        clock: Callable[[], float] = time.time,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        pr_status: Callable[[str, int], str | None] | None = None,
    ) -> None:
        self.leases = leases
        self._runs = runs
        self._clock = clock
        self._duration = lease_seconds
        self._pr_status = pr_status  # open, merged, closed, or None when unknown

    # -- plans ----------------------------------------------------------------------------

    def admit(self, run: Run, config: GitOpsConfig, clone_url: str | None) -> Admission:
        """Take (or renew) the lease for a PR's plan, or queue the plan behind the holder."""
        if not needs_lease(run):
            return Admission(go=True)
        assert run.pr is not None
        key = lock_key(run.repo, config)
        claimant = Claimant(pr=run.pr, run_id=run.id, clone_url=clone_url)
        now = self._clock()

        def decide(lease: Lease, next_token: Callable[[int], int]) -> tuple[Lease, Any]:
            change, grant = acquire(lease, claimant, now, self._duration, next_token)
            replaced = [w.run_id for w in lease.waiters if w.pr == run.pr and w.run_id != run.id]
            return change.lease, (change, grant, replaced)

        change, grant, replaced = self.leases.change(key, decide)
        for run_id in replaced:  # the PR's older waiting plan gave its place to this one
            self._end_waiting(run_id, RunStatus.SUPERSEDED, superseded_by=run.id)
        promotions = self._settle(key, change, ignore_pr=run.pr)
        if grant.granted:
            self.leases.record_grant(run.id, grant.token)
        else:
            self.leases.record_wait(run.id, grant.holder.pr, key.id)
        return Admission(go=grant.granted, grant=grant, key=key, promotions=promotions)

    # -- applies --------------------------------------------------------------------------

    def fence(self, run: Run, config: GitOpsConfig) -> Fence:
        """An apply of a PR proves its plan's token still holds the lease before it runs."""
        if run.pipeline != Pipeline.TERRAFORM_APPLY or run.pr is None:
            return Fence()
        key = lock_key(run.repo, config)
        token = self.leases.granted_token(run.plan_run_id) if run.plan_run_id else None
        problem = fence_problem(self.leases.get(key), run.pr, token, self._clock())
        if problem is not None:
            return Fence(
                problem=f"PR #{run.pr} does not hold the lock on {key.describe()}: {problem}"
            )
        return Fence(parameters={FENCING_PARAMETER: str(token)})

    # -- releases -------------------------------------------------------------------------

    def release_pr(
        self, repo: str, pr: int, leave_queues: bool = True
    ) -> tuple[list[LockKey], list[Promotion]]:
        """Release every lease ``pr`` holds in ``repo``; with ``leave_queues`` (the PR ended)
        its waiting plans leave every queue too and are cancelled."""
        released: list[LockKey] = []
        promotions: list[Promotion] = []
        for lease in self.leases.find(repo):
            held = lease.holder is not None and lease.holder.pr == pr
            waiting = [w.run_id for w in lease.waiters if w.pr == pr] if leave_queues else []
            if not held and not waiting:
                continue
            change = self._change(lease.key, self._releasing(pr, leave_queues))
            for run_id in waiting:
                self._end_waiting(run_id, RunStatus.CANCELLED, error=f"PR #{pr} ended")
            released += [lease.key] if held else []
            promotions += self._settle(lease.key, change)
        return released, promotions

    def release_id(self, lock_id: str) -> tuple[Lease, list[Promotion]]:
        """Force-release one lease (``DELETE /locks/{id}``, ``maestro locks release``)."""
        key = LockKey.from_id(lock_id)
        if self.leases.get(key) is None:
            raise LockNotFoundError(f"no lock on {key.describe()}")
        change = self._change(
            key, lambda lz, nt: release(lz, self._clock(), None, self._duration, nt)
        )
        return change.lease, self._settle(key, change)

    def sweep(self) -> tuple[list[LockKey], list[Promotion]]:
        """Release expired leases and leases of PRs closed without merge (a lost webhook);
        re-offer leases whose holder's run was never dispatched. Returns what it released."""
        released: list[LockKey] = []
        promotions: list[Promotion] = []
        now = self._clock()
        for lease in self.leases.find():
            if lease.expired(now):
                change = self._change(lease.key, lambda lz, nt: expire(lz, now, self._duration, nt))
                released.append(lease.key)
                promotions += self._settle(lease.key, change)
            elif self._holder_closed(lease):
                assert lease.holder is not None
                keys, more = self.release_pr(lease.key.repo, lease.holder.pr)
                released += keys
                promotions += more
            elif (stuck := self._stuck_holder(lease, now)) is not None:
                promotions.append(stuck)
        return released, promotions

    def _holder_closed(self, lease: Lease) -> bool:
        if self._pr_status is None or lease.holder is None:
            return False
        # None: the Git host could not tell; keep the lease, its expiry still frees it.
        return self._pr_status(lease.key.repo, lease.holder.pr) == "closed"

    def _stuck_holder(self, lease: Lease, now: float) -> Promotion | None:
        """A holder whose run is still queued long after it was created: the dispatcher
        stopped between granting and dispatching (a timeout, a crash). Offer it again."""
        if lease.holder is None or not lease.held(now):
            return None
        run = self._queued_run(lease.holder.run_id)
        if run is None or now - _epoch(run.created_at) < STUCK_SECONDS:
            return None
        holder = lease.holder
        return Promotion(
            key=lease.key, run=run, clone_url=holder.clone_url, token=lease.fencing_token
        )

    def find(self, repo: str | None = None) -> list[Lease]:
        return self.leases.find(repo)

    # -- internals ------------------------------------------------------------------------

    def _change(
        self, key: LockKey, decide: Callable[[Lease, Callable[[int], int]], LeaseChange]
    ) -> LeaseChange:
        def wrapped(lease: Lease, next_token: Callable[[int], int]) -> tuple[Lease, LeaseChange]:
            change = decide(lease, next_token)
            return change.lease, change

        return self.leases.change(key, wrapped)

    def _settle(
        self, key: LockKey, change: LeaseChange, ignore_pr: int | None = None
    ) -> list[Promotion]:
        """Promotions whose run can still run; a run that cannot passes the lease on."""
        promotions: list[Promotion] = []
        while change.promoted is not None and change.promoted.pr != ignore_pr:
            promoted = change.promoted
            run = self._queued_run(promoted.run_id)
            if run is not None:
                token = change.lease.fencing_token
                self.leases.record_grant(run.id, token)
                promotions.append(
                    Promotion(key=key, run=run, clone_url=promoted.clone_url, token=token)
                )
                break
            logger.info("promoted run cannot run; lease passes on", extra={"run": promoted.run_id})
            change = self._change(key, self._skipping(promoted.run_id))
        return promotions

    def _releasing(self, pr: int, leave_queue: bool) -> Decide:
        def decide(lease: Lease, next_token: Callable[[int], int]) -> LeaseChange:
            now = self._clock()
            return release(lease, now, pr, self._duration, next_token, leave_queue=leave_queue)

        return decide

    def _end_waiting(self, run_id: str, target: RunStatus, **changes: Any) -> None:
        """A plan that left a queue without running: it must not stay ``queued`` forever."""
        try:
            self._runs.transition(run_id, target, **changes)
        except RunError as exc:  # it ran or ended meanwhile
            logger.info("waiting run not ended", extra={"run": run_id, "why": str(exc)})

    def _skipping(self, run_id: str) -> Decide:
        def decide(lease: Lease, next_token: Callable[[int], int]) -> LeaseChange:
            return skip_holder(lease, run_id, self._clock(), self._duration, next_token)

        return decide

    def _queued_run(self, run_id: str) -> Run | None:
        try:
            run = self._runs.get(run_id)
        except RunNotFoundError:
            return None
        return run if run.status == RunStatus.QUEUED else None


def public_lease(lease: Lease, now: float | None = None) -> dict[str, Any]:
    """The API's view of a lease (``Lock`` in docs/openapi.yaml)."""
    now = time.time() if now is None else now
    holder = lease.holder if lease.held(now) else None
    return {
        "id": lease.key.id,
        "repo": lease.key.repo,
        "directory": lease.key.directory,
        "workspace": lease.key.workspace,
        "held": holder is not None,
        "holder_pr": holder.pr if holder else None,
        "holder_run_id": holder.run_id if holder else None,
        "fencing_token": lease.fencing_token,
        "expires_at": _iso(lease.expires_at) if holder else None,
        "expired": lease.expired(now),
        "waiting": [
            {"pr": w.pr, "run_id": w.run_id, "since": _iso(w.since)} for w in lease.waiters
        ],
    }


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
