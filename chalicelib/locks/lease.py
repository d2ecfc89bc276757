"""The lease on one (repository, directory, workspace): pure functions from values to values.

A plan on PR #n takes the lease; a plan of another PR waits in the lease's queue, in arrival
order, and takes the lease when it frees. Every grant to a new holder issues a fencing token
larger than any issued before, so an apply can prove it still holds the lease it planned
under: a holder that lost its lease (expired, released, taken over) carries an old token
and is refused.

Timeline of two PRs on one workspace (tokens in brackets)::

    t0  PR 1 plans      → holder PR 1 [1]
    t1  PR 2 plans      → waits, queue [PR 2]
    t2  PR 1 re-plans   → holder PR 1 [1], expiry renewed (same holder, same token)
    t3  PR 1 closed     → released; PR 2 promoted [2] and dispatched
    t4  PR 1's apply    → refused: PR 1 no longer holds the lease (token 1 is stale)

Nothing here reads a clock or a table: ``now`` (epoch seconds) and ``next_token`` are given.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.locks.exceptions import LockNotFoundError

DEFAULT_LEASE_SECONDS = 7 * 24 * 3600  # a PR under review for a week keeps its workspace
TokenSource = Callable[[int], int]  # the last token issued -> the next one (strictly larger)


def next_after(last: int) -> int:
    return last + 1


class LockKey(BaseModel):
    model_config = ConfigDict(frozen=True)

    repo: str  # owner/name
    directory: str
    workspace: str = "default"

    @property
    def id(self) -> str:
        """An opaque, URL-safe id for ``DELETE /locks/{id}`` (directories contain slashes)."""
        raw = "\n".join((self.repo, self.directory, self.workspace)).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def from_id(cls, lock_id: str) -> LockKey:
        try:
            raw = base64.urlsafe_b64decode(lock_id + "=" * (-len(lock_id) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise LockNotFoundError(f"no lock with id {lock_id!r}") from None
        parts = raw.split("\n")
        if len(parts) != 3 or not all(parts):
            raise LockNotFoundError(f"no lock with id {lock_id!r}")
        return cls(repo=parts[0], directory=parts[1], workspace=parts[2])

    def describe(self) -> str:
        return f"{self.repo} {self.directory} (workspace {self.workspace})"


class Claimant(BaseModel):
    """A plan run of a PR that wants the lease (holder or waiter)."""

    model_config = ConfigDict(frozen=True)

    pr: int
    run_id: str
    clone_url: str | None = None  # to dispatch the run later, when it is promoted
    since: float = 0.0  # epoch seconds: when it took the lease or joined the queue


class Lease(BaseModel):
    key: LockKey
    fencing_token: int = 0  # the last token issued; only grows
    holder: Claimant | None = None
    expires_at: float | None = None
    waiters: list[Claimant] = Field(default_factory=list)  # first come, first served
    version: int = 0  # optimistic concurrency: every write bumps it

    def held(self, now: float) -> bool:
        return self.holder is not None and self.expires_at is not None and self.expires_at > now

    def expired(self, now: float) -> bool:
        return self.holder is not None and not self.held(now)


class Grant(BaseModel):
    """What ``acquire`` decided for the claimant."""

    granted: bool
    token: int | None = None  # set when granted
    holder: Claimant  # who holds the lease afterwards (the claimant when granted)
    position: int | None = None  # 1-based place in the queue when waiting


class LeaseChange(BaseModel):
    """A new lease, and the waiter (if any) that became holder and must now be dispatched."""

    lease: Lease
    promoted: Claimant | None = None


def acquire(
    lease: Lease,
    claimant: Claimant,
    now: float,
    duration: float = DEFAULT_LEASE_SECONDS,
    next_token: TokenSource = next_after,
) -> tuple[LeaseChange, Grant]:
    """Give the lease to ``claimant``, renew it for its own PR, or queue the claimant.

    An expired holder first loses the lease to the head of the queue (who gets a new token),
    so a late claimant never jumps the queue.
    """
    change = expire(lease, now, duration, next_token)
    lease = change.lease
    if lease.holder is not None and lease.holder.pr == claimant.pr:
        holder = claimant.model_copy(update={"since": lease.holder.since})
        renewed = _with(lease, holder=holder, expires_at=now + duration, waiters=lease.waiters)
        return LeaseChange(lease=renewed, promoted=change.promoted), _granted(renewed)
    if lease.holder is None:
        holder = claimant.model_copy(update={"since": now})
        token = _issue(lease, next_token)
        taken = _with(lease, holder=holder, expires_at=now + duration, fencing_token=token)
        return LeaseChange(lease=taken, promoted=change.promoted), _granted(taken)
    waiters = enqueue(lease.waiters, claimant.model_copy(update={"since": now}))
    queued = _with(lease, waiters=waiters)
    position = next(i for i, w in enumerate(waiters, 1) if w.pr == claimant.pr)
    grant = Grant(granted=False, holder=lease.holder, position=position)
    return LeaseChange(lease=queued, promoted=change.promoted), grant


def enqueue(waiters: list[Claimant], claimant: Claimant) -> list[Claimant]:
    """Add ``claimant`` at the back; a PR already waiting keeps its place with its newer run."""
    for index, waiter in enumerate(waiters):
        if waiter.pr == claimant.pr:
            kept = claimant.model_copy(update={"since": waiter.since})
            return [*waiters[:index], kept, *waiters[index + 1 :]]
    return [*waiters, claimant]


def release(
    lease: Lease,
    now: float,
    pr: int | None = None,
    duration: float = DEFAULT_LEASE_SECONDS,
    next_token: TokenSource = next_after,
    leave_queue: bool = True,
) -> LeaseChange:
    """Free the lease (only if ``pr`` holds it, when given) and promote the head of the queue.

    ``pr`` also leaves the queue (``leave_queue``): a closed PR's waiting plan must not take
    the lease later. ``maestro unlock`` keeps it there: it releases what the PR holds only.
    """
    waiters = [w for w in lease.waiters if pr is None or w.pr != pr or not leave_queue]
    lease = _with(lease, waiters=waiters)
    if lease.holder is None or (pr is not None and lease.holder.pr != pr):
        return LeaseChange(lease=lease)
    return _promote(lease, now, duration, next_token)


def expire(
    lease: Lease,
    now: float,
    duration: float = DEFAULT_LEASE_SECONDS,
    next_token: TokenSource = next_after,
) -> LeaseChange:
    """Release the lease if its holder let it run out; otherwise nothing changes."""
    if not lease.expired(now):
        return LeaseChange(lease=lease)
    return _promote(lease, now, duration, next_token)


def skip_holder(
    lease: Lease,
    run_id: str,
    now: float,
    duration: float = DEFAULT_LEASE_SECONDS,
    next_token: TokenSource = next_after,
) -> LeaseChange:
    """A promoted run that can no longer run (superseded, cancelled) passes the lease on."""
    if lease.holder is None or lease.holder.run_id != run_id:
        return LeaseChange(lease=lease)
    return _promote(lease, now, duration, next_token)


def fence_problem(lease: Lease | None, pr: int, token: int | None, now: float) -> str | None:
    """Why an apply of PR ``pr`` planned under ``token`` must not touch the state, or ``None``.

    >>> fence_problem(None, 7, 1, 0.0)
    'no lock is held on this workspace'
    """
    if lease is None or lease.holder is None:
        return "no lock is held on this workspace"
    if not lease.held(now):
        return f"the lock of PR #{lease.holder.pr} expired"
    if lease.holder.pr != pr:
        return f"the lock is now held by PR #{lease.holder.pr}"
    if token is None or token != lease.fencing_token:
        return (
            f"the plan was made under fencing token {token}, the lease is at {lease.fencing_token}"
        )
    return None


def _promote(lease: Lease, now: float, duration: float, next_token: TokenSource) -> LeaseChange:
    if not lease.waiters:
        return LeaseChange(lease=_with(lease, holder=None, expires_at=None))
    head, rest = lease.waiters[0], lease.waiters[1:]
    holder = head.model_copy(update={"since": now})
    token = _issue(lease, next_token)
    promoted = _with(
        lease, holder=holder, expires_at=now + duration, fencing_token=token, waiters=rest
    )
    return LeaseChange(lease=promoted, promoted=holder)


def _issue(lease: Lease, next_token: TokenSource) -> int:
    token = next_token(lease.fencing_token)
    if token <= lease.fencing_token:  # a token source that went backwards is a bug, not a race
        raise ValueError(f"fencing token {token} is not above {lease.fencing_token}")
    return token


def _granted(lease: Lease) -> Grant:
    assert lease.holder is not None
    return Grant(granted=True, token=lease.fencing_token, holder=lease.holder)


def _with(lease: Lease, **changes: object) -> Lease:
    return lease.model_copy(update=changes)
