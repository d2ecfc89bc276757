"""The table-level check of make test-aws (tests/aws_mode/iam_audit.py) refuses what AWS would:
a write allowed on one table and made on another, item by item inside a transaction."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.aws_mode.iam_audit import allows, dynamodb_requests

ACCOUNT = "123456789012"
TABLES = "arn:aws:dynamodb:eu-west-1:123456789012:table/"
# The API role's statements before PutItem was granted on the runs table.
API_BEFORE = {
    "api": {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
             "Resource": [TABLES + "maestrops-prod-runs", TABLES + "maestrops-prod-runs/index/*"]},
            {"Effect": "Allow", "Action": ["dynamodb:PutItem", "sqs:SendMessage"],
             "Resource": [TABLES + "maestrops-prod-idempotency"]},
        ],
    }
}  # fmt: skip


def _recorded(path: Path, requests: list[tuple[str, dict]]) -> Path:
    lines = []
    for operation, body in requests:
        headers = {
            "X-Amz-Target": f"DynamoDB_20120810.{operation}",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAAPIROLE/20261130/eu-west-1/"
            "dynamodb/aws4_request, SignedHeaders=host, Signature=0",
        }
        encoded = base64.b64encode(json.dumps(body).encode()).decode()
        lines.append(json.dumps({"headers": headers, "body": encoded, "body_encoded": True}))
    lines.append(json.dumps({"headers": {"X-Amz-Target": "DynamoDB_20120810.Scan"}, "body": "{}"}))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_lease_written_back_by_a_role_allowed_to_put_only_elsewhere_is_refused(tmp_path):
    recording = _recorded(
        tmp_path / "recording.jsonl",
        [
            ("PutItem", {"TableName": "maestrops-prod-idempotency", "Item": {}}),
            ("Query", {"TableName": "maestrops-prod-runs", "IndexName": "by_repo"}),
            ("TransactWriteItems", {"TransactItems": [
                {"Put": {"TableName": "maestrops-prod-runs", "Item": {}}},
                {"Update": {"TableName": "maestrops-prod-runs", "Key": {}}},
            ]}),
            ("BatchGetItem", {"RequestItems": {"maestrops-prod-runs": {"Keys": []}}}),
        ],
    )  # fmt: skip
    requests = list(dynamodb_requests(recording, ACCOUNT))
    assert requests == [
        ("AKIAAPIROLE", "dynamodb:PutItem", TABLES + "maestrops-prod-idempotency"),
        ("AKIAAPIROLE", "dynamodb:Query", TABLES + "maestrops-prod-runs/index/by_repo"),
        ("AKIAAPIROLE", "dynamodb:PutItem", TABLES + "maestrops-prod-runs"),
        ("AKIAAPIROLE", "dynamodb:UpdateItem", TABLES + "maestrops-prod-runs"),
        ("AKIAAPIROLE", "dynamodb:BatchGetItem", TABLES + "maestrops-prod-runs"),
    ]  # the unsigned Scan is the test's own, not a role's
    refused = [(a, r) for _, a, r in requests if not allows(API_BEFORE, a, r)]
    assert refused == [
        ("dynamodb:Query", TABLES + "maestrops-prod-runs/index/by_repo"),
        ("dynamodb:PutItem", TABLES + "maestrops-prod-runs"),
        ("dynamodb:BatchGetItem", TABLES + "maestrops-prod-runs"),
    ]


def test_an_explicit_deny_wins_and_policies_come_back_url_encoded_from_iam():
    from urllib.parse import quote

    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": TABLES + "*"},
            {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": TABLES + "locks"},
        ],
    }
    policies = {"p": quote(json.dumps(document))}
    assert allows(policies, "dynamodb:DeleteItem", TABLES + "runs")
    assert allows(policies, "DynamoDB:PutItem", TABLES + "locks")  # actions ignore case
    assert not allows(policies, "dynamodb:DeleteItem", TABLES + "locks")
    assert not allows(policies, "dynamodb:GetItem", TABLES.replace("eu-west-1", "us-east-1") + "x")
