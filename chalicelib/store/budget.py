"""Where write budgets live: one DynamoDB item per scope, large pending bodies in S3.

``chalicelib.budget.ledger`` decides every write against a scope's state; this module keeps
those states (``BudgetTable``) and the bodies too large for them (``BodyStore``), in AWS and in
memory (docs/store.md, docs/github.md):

- ``pk=BUDGET#<owner/name>#<pr>``, ``sk=BUDGET``: ``state`` (JSON: the request times of the
  last hour, the status counts per sha and context, the pending writes keyed by comment thread
  or status context), ``version``, and while something waits ``gsi4pk=BUDGET#PENDING``,
  ``gsi4sk=<next due time>#<scope>`` (index ``by_status``), which is how the
  ``flush_feedback`` schedule finds them; an idle item expires (TTL) a week later;
- a status whose PR is unknown (push pipelines) has a budget of its own per sha,
  ``pk=BUDGET#<owner/name>#sha-<sha>``, limited only by the 1,000 statuses per sha and context.

A ``put`` is one ``PutItem`` conditioned on the ``version`` the ledger read (or on the item's
absence for a first write); a lost condition returns ``False`` and the ledger reads again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from boto3.dynamodb.conditions import Key

from chalicelib.budget.state import BudgetScope

PENDING_PARTITION = "BUDGET#PENDING"
PENDING_INDEX = "by_status"
IDLE_TTL_SECONDS = 7 * 24 * 3600  # a budget with nothing pending is deleted a week later


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
