"""The run store on DynamoDB (table design: docs/store.md).

Every state change is one conditional ``UpdateItem``: the condition names the states the run
may come from, so two writers racing, or an event arriving late, cannot move a run backwards.
A refused write raises ``TransitionConflictError`` with the status actually stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.exceptions import ClientError

from chalicelib.runs.exceptions import (
    InvalidCursorError,
    RunExistsError,
    RunNotFoundError,
    TransitionConflictError,
)
from chalicelib.runs.model import ALLOWED_FROM, Run, RunStatus, isoformat, utc_now
from chalicelib.runs.query import RunPage, RunQuery, decode_cursor, encode_cursor

INDEXES = {
    "by_repo": "gsi1",
    "by_repo_pipeline": "gsi2",
    "by_repo_pr": "gsi3",
    "by_status": "gsi4",
    "by_time": "gsi5",
}
ALL_RUNS = "RUNS"
_JSON_FIELDS = ("outputs", "steps")
# DynamoDB hands numbers back as Decimal.
INTEGER_FIELDS = (
    "pr",
    "run_number",
    "timeout_minutes",
    "event_sequence",
    "state_serial_before",
    "state_serial_after",
    "waiting_for",
    "fencing_token",
)


def run_key(run_id: str) -> dict[str, str]:
    return {"pk": f"RUN#{run_id}", "sk": "RUN"}


def dedupe_key(key: str) -> dict[str, str]:
    return {"pk": f"DEDUPE#{key}", "sk": "DEDUPE"}


def run_to_item(run: Run) -> dict[str, Any]:
    data = run.model_dump(mode="json", exclude_none=True)
    for name in _JSON_FIELDS:
        data[name] = json.dumps(data.get(name) or type(getattr(run, name))())
    order = f"{run.created_at}#{run.id}"
    item = {**data, **run_key(run.id)}
    item.update(
        gsi1pk=f"REPO#{run.repo}",
        gsi1sk=order,
        gsi2pk=f"REPO#{run.repo}#PIPELINE#{run.pipeline}",
        gsi2sk=order,
        gsi4pk=f"STATUS#{run.status}",
        gsi4sk=order,
        gsi5pk=ALL_RUNS,
        gsi5sk=order,
    )
    if run.pr is not None:
        item.update(gsi3pk=f"REPO#{run.repo}#PR#{run.pr}", gsi3sk=order)
    return item


def item_to_run(item: dict[str, Any]) -> Run:
    data = {k: v for k, v in item.items() if not k.startswith("gsi") and k not in ("pk", "sk")}
    for name in _JSON_FIELDS:
        if isinstance(data.get(name), str):
            data[name] = json.loads(data[name])
    for name in INTEGER_FIELDS:
        if name in data:
            data[name] = int(data[name])
    return Run.model_validate(data)


class DynamoRunStore:
    """Runs, run counters and their queries in one table."""

    def __init__(self, table_name: str, resource: Any = None) -> None:
        if resource is None:
            import boto3

            resource = boto3.resource("dynamodb")
        self._table = resource.Table(table_name)

    # -- writes -------------------------------------------------------------------------

    def create(self, run: Run) -> Run:
        try:
            self._table.put_item(Item=run_to_item(run), ConditionExpression=Attr("pk").not_exists())
        except ClientError as exc:
            if _is_conditional_failure(exc):
                raise RunExistsError(f"run {run.id} already exists") from None
            raise
        return run

    def next_run_number(self, repo: str, pipeline: str) -> int:
        """Atomic per repository and pipeline counter, like GitHub Actions' run_number."""
        response = self._table.update_item(
            Key={"pk": f"COUNTER#{repo}#{pipeline}", "sk": "COUNTER"},
            UpdateExpression="ADD #value :one",
            ExpressionAttributeNames={"#value": "value"},
            ExpressionAttributeValues={":one": 1},
            ReturnValues="UPDATED_NEW",
        )
        return int(response["Attributes"]["value"])

    def transition(
        self, run_id: str, target: RunStatus, *, min_sequence: int | None = None, **changes: Any
    ) -> Run:
        """Move a run to ``target`` if the state machine allows it from the stored status.

        ``min_sequence``: apply only if the run has seen no event newer than this one.
        """
        allowed = ALLOWED_FROM[target]
        condition = Attr("pk").exists() & Attr("status").is_in(sorted(allowed))
        if min_sequence is not None:
            condition &= Attr("event_sequence").lt(min_sequence)
            changes["event_sequence"] = min_sequence
        now = isoformat(utc_now())
        changes.update(status=target.value, updated_at=now, gsi4pk=f"STATUS#{target.value}")
        if target == RunStatus.RUNNING:
            changes.setdefault("started_at", now)
        return self._update(run_id, changes, condition, target)

    def claim(self, key: str, owner: str, *, replace: str | None = None) -> str:
        """The run that ``key`` starts: one conditional ``PutItem`` on ``DEDUPE#<key>``.

        The put succeeds when nobody holds the key, when ``owner`` does (a retry of the same
        delivery) or when ``replace`` does (a newer event takes it over); otherwise the
        holder is read back (strongly consistent) and returned.
        """
        condition = Attr("pk").not_exists() | Attr("owner").eq(owner)
        if replace is not None:
            condition |= Attr("owner").eq(replace)
        item = {**dedupe_key(key), "owner": owner, "claimed_at": isoformat(utc_now())}
        try:
            self._table.put_item(Item=item, ConditionExpression=condition)
            return owner
        except ClientError as exc:
            if not _is_conditional_failure(exc):
                raise
        held = self._table.get_item(Key=dedupe_key(key), ConsistentRead=True).get("Item")
        return str(held["owner"]) if held else self.claim(key, owner, replace=replace)

    def update_fields(self, run_id: str, **changes: Any) -> Run:
        """Record facts on a run without changing its status (artifacts, runner ref)."""
        changes["updated_at"] = isoformat(utc_now())
        return self._update(run_id, changes, Attr("pk").exists(), None)

    def _update(
        self,
        run_id: str,
        changes: dict[str, Any],
        condition: ConditionBase,
        target: RunStatus | None,
    ) -> Run:
        # boto3 names the condition's placeholders #n0/:v0...; ours must not collide.
        names = {f"#set{i}": name for i, name in enumerate(changes)}
        values = {f":set{i}": _to_attribute(k, v) for i, (k, v) in enumerate(changes.items())}
        expression = "SET " + ", ".join(f"#set{i} = :set{i}" for i in range(len(changes)))
        try:
            response = self._table.update_item(
                Key=run_key(run_id),
                UpdateExpression=expression,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ConditionExpression=condition,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not _is_conditional_failure(exc):
                raise
            stored = exc.response.get("Item")
            if not stored:
                raise RunNotFoundError(f"run {run_id} not found") from None
            current = stored.get("status", {}).get("S")
            raise TransitionConflictError(
                f"run {run_id} is {current}; cannot move to {target.value if target else '?'}"
            ) from None
        return item_to_run(response["Attributes"])

    # -- reads --------------------------------------------------------------------------

    def get(self, run_id: str) -> Run:
        item = self._table.get_item(Key=run_key(run_id), ConsistentRead=True).get("Item")
        if item is None:
            raise RunNotFoundError(f"run {run_id} not found")
        return item_to_run(item)

    def query(self, query: RunQuery) -> RunPage:
        """Runs matching ``query``, newest first, ``query.limit`` at a time."""
        index, key_condition = _choose_index(query)
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": key_condition,
            "ScanIndexForward": False,
        }
        filters = _filters(query, index)
        if filters is not None:
            kwargs["FilterExpression"] = filters
        gsi = INDEXES_BY_NAME[index]
        if query.cursor:
            start = decode_cursor(query.cursor, query)
            kwargs["ExclusiveStartKey"] = _start_key(start, gsi, _partition(index, query))
        return self._collect(kwargs, query, gsi)

    def _collect(self, kwargs: dict[str, Any], query: RunQuery, gsi: str) -> RunPage:
        runs: list[Run] = []
        limit = query.limit
        while True:
            try:
                response = self._table.query(Limit=max(limit * 2, 25), **kwargs)
            except ClientError as exc:  # a start key outside the query's key range
                if "ExclusiveStartKey" in kwargs and _error_code(exc) == "ValidationException":
                    raise InvalidCursorError("cursor is not one this API returned") from None
                raise
            items = response.get("Items", [])
            for position, item in enumerate(items):
                runs.append(item_to_run(item))
                if len(runs) == limit:
                    more = position + 1 < len(items) or "LastEvaluatedKey" in response
                    cursor = encode_cursor(_page_key(item, gsi), query) if more else None
                    return RunPage(runs=runs, next_cursor=cursor)
            if "LastEvaluatedKey" not in response:
                return RunPage(runs=runs)
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def runs_in_status(self, statuses: Iterable[RunStatus]) -> list[Run]:
        """Every run in one of ``statuses`` (the reaper's and superseding's view)."""
        found: list[Run] = []
        for status in statuses:
            page = RunPage(runs=[], next_cursor=None)
            cursor = None
            while True:
                page = self.query(RunQuery(status=status.value, limit=100, cursor=cursor))
                found.extend(page.runs)
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
        return found


INDEXES_BY_NAME = {name: prefix for name, prefix in INDEXES.items()}


def _choose_index(query: RunQuery) -> tuple[str, ConditionBase]:
    """The most selective index for the query; the rest become filters."""
    name = _index_name(query)
    pk = _partition(name, query)
    prefix = INDEXES[name]
    condition = Key(f"{prefix}pk").eq(pk)
    if query.since:
        condition &= Key(f"{prefix}sk").gte(query.since)
    return name, condition


def _index_name(query: RunQuery) -> str:
    if query.repo and query.pr is not None:
        return "by_repo_pr"
    if query.repo and query.pipeline:
        return "by_repo_pipeline"
    if query.repo:
        return "by_repo"
    return "by_status" if query.status else "by_time"


def _partition(index: str, query: RunQuery) -> str:
    """The partition key value ``query`` reads in ``index``."""
    return {
        "by_repo_pr": f"REPO#{query.repo}#PR#{query.pr}",
        "by_repo_pipeline": f"REPO#{query.repo}#PIPELINE#{query.pipeline}",
        "by_repo": f"REPO#{query.repo}",
        "by_status": f"STATUS#{query.status}",
        "by_time": ALL_RUNS,
    }[index]


def _start_key(key: dict[str, str], gsi: str, partition: str) -> dict[str, str]:
    """A cursor's position, if it is one DynamoDB accepts for this query: the table's key
    and the index's key, in the query's partition; anything else is an invalid cursor."""
    expected = {"pk", "sk", f"{gsi}pk", f"{gsi}sk"}
    if (
        set(key) != expected
        or key[f"{gsi}pk"] != partition
        or key["sk"] != "RUN"
        or not key["pk"].startswith("RUN#")
    ):
        raise InvalidCursorError("cursor is not one this API returned")
    return key


def _filters(query: RunQuery, index: str) -> ConditionBase | None:
    covered = {
        "by_repo_pr": {"repo", "pr"},
        "by_repo_pipeline": {"repo", "pipeline"},
        "by_repo": {"repo"},
        "by_status": {"status"},
        "by_time": set(),
    }[index]
    wanted = {
        "pipeline": query.pipeline,
        "status": query.status,
        "branch": query.branch,
        "pr": query.pr,
    }
    condition: ConditionBase | None = None
    for name, value in wanted.items():
        if value is None or name in covered:
            continue
        clause = Attr(name).eq(value)
        condition = clause if condition is None else condition & clause
    return condition


def _page_key(item: dict[str, Any], gsi: str) -> dict[str, str]:
    return {
        "pk": item["pk"],
        "sk": item["sk"],
        f"{gsi}pk": item[f"{gsi}pk"],
        f"{gsi}sk": item[f"{gsi}sk"],
    }


def _to_attribute(name: str, value: Any) -> Any:
    if name in _JSON_FIELDS:
        return json.dumps(value)
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def _is_conditional_failure(exc: ClientError) -> bool:
    return _error_code(exc) == "ConditionalCheckFailedException"


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
