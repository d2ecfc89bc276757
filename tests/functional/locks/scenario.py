"""Helpers shared by the lock and comment-command tests: PR plans, runner events, the clock."""

from __future__ import annotations

from typing import Any

import boto3
from chalice.test import Client

from chalicelib.jobs import DETAIL_RUN_FINISHED
from chalicelib.locks.gate import LockGate
from chalicelib.store.locks import DynamoLockStore
from tests.functional.conftest import Controller
from tests.functional.flows.test_dispatch import deliver
from tests.functional.flows.test_runner_events import send
from tests.payloads import pull_request

HOUR = 3600.0


class Clock:
    """Epoch seconds moved by hand, so lease expiry is tested without waiting."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def install_gate(controller: Controller, clock: Clock, lease_seconds: float = HOUR) -> LockGate:
    """The controller's lock gate on moto, with ``clock``; built before any handler runs."""
    services = controller.services
    store = DynamoLockStore(services.settings.table)
    gate = LockGate(
        store,
        services.store,
        clock=clock,
        lease_seconds=lease_seconds,
        pr_status=services.pr_status,
    )
    services.locks = gate
    for built_on_the_gate in ("dispatcher", "commands", "runner_events"):
        services.__dict__.pop(built_on_the_gate, None)
    return gate


def open_pr(controller: Controller, client: Client, pr: int, action: str = "opened") -> str:
    """A new commit on the PR's head, delivered as ``pull_request``; returns the sha."""
    sha = controller.commit({f"pr{pr}.tf": f"# {pr} {action} {len(controller.backend.jobs)}\n"})
    payload = pull_request(action, "infra_features", "infra_main", sha=sha, number=pr)
    deliver(controller, client, "pull_request", payload, f"d-{pr}-{action}-{sha[:8]}")
    return sha


def close_pr(controller: Controller, client: Client, pr: int, sha: str, merged: bool) -> None:
    payload = pull_request("closed", "infra_features", "infra_main", sha=sha, number=pr)
    payload["pull_request"]["merged"] = merged
    deliver(controller, client, "pull_request", payload, f"d-{pr}-closed")


def finish(client: Client, run_id: str, status: str = "succeeded") -> None:
    send(client, DETAIL_RUN_FINISHED, {"run_id": run_id, "sequence": 9, "status": status})


def run_item(run_id: str, table: str) -> dict[str, Any]:
    """The stored run item, with the lock's attributes the Run model does not carry."""
    key = {"pk": f"RUN#{run_id}", "sk": "RUN"}
    return boto3.resource("dynamodb").Table(table).get_item(Key=key)["Item"]


def job_runs(controller: Controller) -> list[tuple[str, int | None]]:
    return [(job.pipeline.value, job.pr) for job in controller.backend.jobs]


def records(controller: Controller, kind: str) -> list[dict[str, Any]]:
    return [r for r in controller.outbox_records() if r["kind"] == kind]


def sweep(client: Client) -> None:
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    client.lambda_.invoke("sweep_locks", event)
