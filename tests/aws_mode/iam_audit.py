"""Every DynamoDB request a function or runner made, checked against its role's policy as AWS
evaluates it: action *and* resource.

moto 5.2.5 authorises DynamoDB requests by action alone (executor.py), so a role allowed
``PutItem`` on the idempotency table could write the runs table there and pass. The request
recorder keeps each request with its signing key; each key belongs to one role's IAM user, so
the table each request touched is checked against that role's own statements (conditions are
not evaluated: the policies here use none on DynamoDB).
"""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import urllib.parse
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

DYNAMODB_TARGET = "DynamoDB_20120810."
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/\d{8}/([a-z0-9-]+)/")


def dynamodb_requests(recording: Path, account: str) -> Iterator[tuple[str, str, str]]:
    """(access key id, IAM action, resource ARN) for each DynamoDB request recorded; a
    transaction or batch gives one entry per table and action inside it."""
    for line in recording.read_text().splitlines():
        entry = json.loads(line)
        headers = {k.lower(): v for k, v in entry["headers"].items()}
        target = headers.get("x-amz-target", "")
        found = _CREDENTIAL.search(headers.get("authorization", ""))
        if not target.startswith(DYNAMODB_TARGET) or not found:
            continue
        key_id, region = found.groups()
        body = entry.get("body") or "{}"
        if entry.get("body_encoded"):
            body = base64.b64decode(body).decode()
        request = json.loads(body)
        operation = target.removeprefix(DYNAMODB_TARGET)
        table_arn = f"arn:aws:dynamodb:{region}:{account}:table/"
        for action, table, index in _touched(operation, request):
            resource = table_arn + table + (f"/index/{index}" if index else "")
            yield key_id, f"dynamodb:{action}", resource


def _touched(operation: str, request: dict[str, Any]) -> Iterable[tuple[str, str, str]]:
    if operation in ("TransactWriteItems", "TransactGetItems"):
        for item in request["TransactItems"]:
            [(kind, body)] = item.items()
            yield TRANSACT_ACTIONS[kind], body["TableName"], ""
    elif operation in ("BatchGetItem", "BatchWriteItem"):
        for table in request["RequestItems"]:
            yield operation, table, ""
    else:
        yield operation, request["TableName"], request.get("IndexName", "")


def allows(policies: dict[str, Any], action: str, resource: str) -> bool:
    """Whether the identity policies allow ``action`` on ``resource`` (no explicit deny)."""
    allowed = False
    for document in policies.values():
        if isinstance(document, str):  # IAM hands documents back URL-encoded
            document = json.loads(urllib.parse.unquote(document))
        statements = document["Statement"]
        for statement in [statements] if isinstance(statements, dict) else statements:
            if _matches(statement.get("Action", []), action, case=False) and _matches(
                statement.get("Resource", []), resource, case=True
            ):
                if statement["Effect"] == "Deny":
                    return False
                allowed = True
    return allowed


def _matches(patterns: str | list[str], value: str, case: bool) -> bool:
    patterns = [patterns] if isinstance(patterns, str) else patterns
    if case:
        return any(fnmatch.fnmatchcase(value, p) for p in patterns)
    return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in patterns)
