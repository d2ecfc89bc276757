"""Table definitions, for local mode and tests (terraform/controller creates them in AWS)."""

from __future__ import annotations

from typing import Any

from chalicelib.store.runs import INDEXES


def main_table_definition(name: str) -> dict[str, Any]:
    attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
    attributes.append({"AttributeName": "sk", "AttributeType": "S"})
    indexes = []
    for index_name, prefix in INDEXES.items():
        attributes += [
            {"AttributeName": f"{prefix}pk", "AttributeType": "S"},
            {"AttributeName": f"{prefix}sk", "AttributeType": "S"},
        ]
        indexes.append(
            {
                "IndexName": index_name,
                "KeySchema": [
                    {"AttributeName": f"{prefix}pk", "KeyType": "HASH"},
                    {"AttributeName": f"{prefix}sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        )
    return {
        "TableName": name,
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": attributes,
        "GlobalSecondaryIndexes": indexes,
        "BillingMode": "PAY_PER_REQUEST",
    }


def idempotency_table_definition(name: str) -> dict[str, Any]:
    return {
        "TableName": name,
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


def create_tables(client: Any, main_table: str, idempotency_table: str) -> None:
    """Create both tables if missing (idempotent)."""
    existing = set(client.list_tables()["TableNames"])
    if main_table not in existing:
        client.create_table(**main_table_definition(main_table))
    if idempotency_table not in existing:
        client.create_table(**idempotency_table_definition(idempotency_table))
