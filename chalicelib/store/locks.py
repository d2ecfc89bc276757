"""Workspace leases on DynamoDB, in the main table (docs/store.md, docs/locks.md).

Items:

- the lease: ``pk=LOCK#<owner/name>#<dir>#<workspace>``, ``sk=LOCK``, with ``fencing_token``,
  ``holder_*``, ``expires_at`` (only while held), ``waiters`` (JSON) and ``version``;
- its listing entry: ``pk=LOCKS``, ``sk=<owner/name>#<dir>#<workspace>`` (``GET /locks``
  and the sweep query one partition instead of scanning the runs);
- its token counter: ``pk=COUNTER#LOCK#<owner/name>#<dir>#<workspace>``, ``sk=COUNTER``.

Every change is read, decided by the pure functions of ``chalicelib.locks.lease``, and
written back with one conditional ``TransactWriteItems``: the lease ``Put`` holds only if
``version`` is still the one read (or the item still does not exist), so two dispatchers
racing for one workspace cannot both win::

    A reads v3 (free) ─ decides "A holds" ─ Put if version = 3 ✓ (now v4)
    B reads v3 (free) ─ decides "B holds" ─ Put if version = 3 ✗ → B reads v4, queues

``expires_at`` is also the table's TTL attribute: a lease nobody swept for days is deleted
by DynamoDB. Tokens therefore come from a counter item that never expires, so a recreated
lease still issues tokens above every earlier one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from chalicelib.locks.exceptions import LockContentionError
from chalicelib.locks.lease import Claimant, Lease, LockKey

LISTING_PK = "LOCKS"
MAX_ATTEMPTS = 8
T = TypeVar("T")
Decide = Callable[[Lease, Callable[[int], int]], tuple[Lease, T]]


def lock_name(key: LockKey) -> str:
    return f"{key.repo}#{key.directory}#{key.workspace}"


def lock_pk(key: LockKey) -> dict[str, str]:
    return {"pk": f"LOCK#{lock_name(key)}", "sk": "LOCK"}


def lease_to_item(lease: Lease) -> dict[str, Any]:
    item: dict[str, Any] = {
        **lock_pk(lease.key),
        "repo": lease.key.repo,
        "directory": lease.key.directory,
        "workspace": lease.key.workspace,
        "fencing_token": lease.fencing_token,
        "version": lease.version,
        "waiters": json.dumps([w.model_dump(mode="json") for w in lease.waiters]),
    }
    if lease.holder is not None and lease.expires_at is not None:
        holder = lease.holder
        item.update(
            holder_pr=holder.pr, holder_run_id=holder.run_id, holder_since=str(holder.since)
        )
        item["expires_at"] = int(lease.expires_at)  # TTL wants whole epoch seconds
        item["expires_at_precise"] = str(lease.expires_at)
        if holder.clone_url:
            item["holder_clone_url"] = holder.clone_url
    return item


def item_to_lease(item: dict[str, Any]) -> Lease:
    key = LockKey(repo=item["repo"], directory=item["directory"], workspace=item["workspace"])
    holder = None
    expires_at = None
    if "holder_pr" in item:
        holder = Claimant(
            pr=int(item["holder_pr"]),
            run_id=item["holder_run_id"],
            clone_url=item.get("holder_clone_url"),
            since=float(item.get("holder_since", 0)),
        )
        expires_at = float(item.get("expires_at_precise") or item["expires_at"])
    waiters = [Claimant.model_validate(w) for w in json.loads(item.get("waiters") or "[]")]
    return Lease(
        key=key,
        fencing_token=int(item.get("fencing_token", 0)),
        holder=holder,
        expires_at=expires_at,
        waiters=waiters,
        version=int(item.get("version", 0)),
    )


class DynamoLockStore:
    """Leases in the main table; ``change`` is the only way a lease is written."""

    def __init__(self, table_name: str, resource: Any = None) -> None:
        if resource is None:
            import boto3

            resource = boto3.resource("dynamodb")
        self._table = resource.Table(table_name)
        self._client = resource.meta.client
        self._table_name = table_name

    def get(self, key: LockKey) -> Lease | None:
        item = self._table.get_item(Key=lock_pk(key), ConsistentRead=True).get("Item")
        return item_to_lease(item) if item is not None else None

    def change(self, key: LockKey, decide: Decide[T]) -> T:
        """Read the lease, let ``decide(lease, next_token)`` compute the new one, write it back.

        Retried from a fresh read when another writer changed the lease in between.
        """
        for _ in range(MAX_ATTEMPTS):
            stored = self.get(key)
            current = stored or Lease(key=key)
            new, result = decide(current, self._token_source(key))
            if new == current:
                return result  # nothing to write (e.g. a release by a PR that holds nothing)
            if self._write(new.model_copy(update={"version": current.version + 1}), stored):
                return result
        raise LockContentionError(f"the lock on {key.describe()} kept changing; try again")

    def find(self, repo: str | None = None) -> list[Lease]:
        """Every lease ever taken (held or free), optionally of one repository."""
        condition = Key("pk").eq(LISTING_PK)
        if repo:
            condition &= Key("sk").begins_with(f"{repo}#")
        names: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition}
        while True:
            response = self._table.query(**kwargs)
            names += response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return self._fetch([{"pk": entry["lock_pk"], "sk": "LOCK"} for entry in names])

    # -- what a run was granted (attributes of the run item, beside the run's own fields) --

    def record_grant(self, run_id: str, token: int) -> None:
        """The plan run holds the lease under ``token``; its apply must present it."""
        self._table.update_item(
            Key={"pk": f"RUN#{run_id}", "sk": "RUN"},
            UpdateExpression="SET fencing_token = :token REMOVE waiting_for, waiting_for_lock",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":token": token},
        )

    def record_wait(self, run_id: str, holder_pr: int, lock_id: str) -> None:
        """The plan run is queued behind PR ``holder_pr`` (``waiting_for`` on the run)."""
        self._table.update_item(
            Key={"pk": f"RUN#{run_id}", "sk": "RUN"},
            UpdateExpression="SET waiting_for = :pr, waiting_for_lock = :lock",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":pr": holder_pr, ":lock": lock_id},
        )

    def granted_token(self, run_id: str) -> int | None:
        item = self._table.get_item(
            Key={"pk": f"RUN#{run_id}", "sk": "RUN"},
            ProjectionExpression="fencing_token",
            ConsistentRead=True,
        ).get("Item")
        return int(item["fencing_token"]) if item and "fencing_token" in item else None

    def _fetch(self, keys: list[dict[str, str]]) -> list[Lease]:
        leases: list[Lease] = []
        for start in range(0, len(keys), 100):  # BatchGetItem takes at most 100 keys
            pending: dict[str, Any] = {
                self._table_name: {"Keys": keys[start : start + 100], "ConsistentRead": True}
            }
            while pending:
                response = self._client.batch_get_item(RequestItems=pending)
                items = response.get("Responses", {}).get(self._table_name, [])
                leases += [item_to_lease(item) for item in items]
                pending = response.get("UnprocessedKeys") or {}
        return sorted(leases, key=lambda lease: lock_name(lease.key))

    def _token_source(self, key: LockKey) -> Callable[[int], int]:
        def next_token(last: int) -> int:
            response = self._table.update_item(
                Key={"pk": f"COUNTER#LOCK#{lock_name(key)}", "sk": "COUNTER"},
                UpdateExpression="ADD #value :one",
                ExpressionAttributeNames={"#value": "value"},
                ExpressionAttributeValues={":one": 1},
                ReturnValues="UPDATED_NEW",
            )
            return max(int(response["Attributes"]["value"]), last + 1)

        return next_token

    def _write(self, lease: Lease, stored: Lease | None) -> bool:
        # The resource's client speaks Python types (boto3's high-level transformation).
        if stored is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "#version = :expected",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":expected": stored.version},
            }
        item = lease_to_item(lease)
        entry = {"pk": LISTING_PK, "sk": lock_name(lease.key), "lock_pk": item["pk"]}
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": self._table_name, "Item": item, **condition}},
                    {"Put": {"TableName": self._table_name, "Item": entry}},
                ]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                return False  # another writer won; the caller reads again
            raise
        return True
