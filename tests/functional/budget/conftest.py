"""The persisted write budget on moto: the main table, the artifacts bucket, a settable clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from chalicelib.budget.ledger import BudgetLedger
from chalicelib.budget.state import BudgetLimits
from chalicelib.settings import Settings
from chalicelib.store.budget import DynamoBudgetTable, S3BodyStore
from chalicelib.store.schema import create_tables
from tests.unit.budget.fakes import Clock


@dataclass
class BudgetAws:
    settings: Settings
    clock: Clock

    def ledger(self, limits: BudgetLimits | None = None) -> BudgetLedger:
        """A ledger with clients of its own, as another Lambda invocation has."""
        resource = boto3.resource("dynamodb")
        return BudgetLedger(
            DynamoBudgetTable(self.settings.table, resource, clock=self.clock),
            S3BodyStore(self.settings.artifacts_bucket, boto3.client("s3")),
            limits=limits,
            clock=self.clock,
        )

    def item(self, name: str) -> dict[str, Any] | None:
        table = boto3.resource("dynamodb").Table(self.settings.table)
        key = {"pk": f"BUDGET#{name}", "sk": "BUDGET"}
        return table.get_item(Key=key, ConsistentRead=True).get("Item")

    def objects(self, prefix: str = "feedback/") -> list[str]:
        listed = boto3.client("s3").list_objects_v2(
            Bucket=self.settings.artifacts_bucket, Prefix=prefix
        )
        return [entry["Key"] for entry in listed.get("Contents", [])]


@pytest.fixture
def budget_aws(aws_env: None) -> Iterator[BudgetAws]:
    settings = Settings()
    create_tables(boto3.client("dynamodb"), settings.table, settings.idempotency_table)
    boto3.client("s3").create_bucket(Bucket=settings.artifacts_bucket)
    yield BudgetAws(settings, Clock())
