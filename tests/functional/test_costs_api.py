from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from chalice.test import Client
from openapi_core.testing import MockRequest, MockResponse

from app import app
from chalicelib.costs import estimate_plan
from chalicelib.jobs import DETAIL_RUN_FINISHED
from tests.functional.conftest import Controller
from tests.functional.flows.test_dispatch import deliver
from tests.functional.flows.test_runner_events import send
from tests.functional.test_runs_api import AUTH, SPEC
from tests.payloads import pull_request

PLAN = Path(__file__).parents[1] / "fixtures" / "cost_plans" / "maestrops_tf103_aws.plan.json"


def finish_plan_with_cost(controller: Controller, client: Client, number: int) -> str:
    """Plan PR #7 (again), with a cost report artifact; ``number`` tells the pushes apart."""
    sha = controller.commit({"main.tf": f"# {number}\n"})
    action = "opened" if number == 1 else "synchronize"
    opened = pull_request(action, "infra_features", "infra_main", sha=sha)
    deliver(controller, client, "pull_request", opened, f"d-{number}")
    run_id = controller.backend.jobs[-1].run_id
    report = estimate_plan(json.loads(PLAN.read_text()))
    key = f"runs/{run_id}/cost-report.json"
    boto3.client("s3").put_object(
        Bucket="maestrops-artifacts", Key=key, Body=report.model_dump_json()
    )
    finished = {"run_id": run_id, "sequence": 3, "status": "succeeded"}
    finished["artifacts"] = {"cost_report": f"s3://maestrops-artifacts/{key}"}
    send(client, DETAIL_RUN_FINISHED, finished)
    return run_id


def get_costs(client: Client, params: dict):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = client.http.get(f"/costs?{query}", headers=AUTH)
    SPEC.validate_response(
        MockRequest("http://127.0.0.1:8000", "get", "/costs", args=params, headers=AUTH),
        MockResponse(
            response.body, status_code=response.status_code, content_type="application/json"
        ),
    )
    return response.status_code, json.loads(response.body)


def test_plan_costs_are_recorded_and_listed_newest_first(controller: Controller) -> None:
    with Client(app) as client:
        first = finish_plan_with_cost(controller, client, 1)
        second = finish_plan_with_cost(controller, client, 2)
        status, body = get_costs(client, {"repo": "Codertocat/Hello-World"})
    assert status == 200
    assert [p["run_id"] for p in body["points"]] == [second, first]
    expected = str(estimate_plan(json.loads(PLAN.read_text())).total_monthly_cost)
    assert body["points"][0]["total_monthly_cost"] == expected
    assert body["points"][0]["estimator"] == "builtin"
    assert Decimal(body["trend"]["change"]) == 0


def test_costs_needs_a_repository(controller: Controller) -> None:
    with Client(app) as client:
        status, body = get_costs(client, {"limit": 5})
    assert (status, body["error"]["code"]) == (400, "invalid_parameter")


def test_merged_pr_emits_its_monthly_cost_change(
    controller: Controller, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    with Client(app) as client:
        finish_plan_with_cost(controller, client, 1)
        sha = controller.backend.jobs[-1].sha
        merged = pull_request("closed", "infra_features", "infra_main", sha=sha, merged=True)
        deliver(controller, client, "pull_request", merged, "d-merge")
        apply_id = controller.backend.jobs[-1].run_id
        monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
        capsys.readouterr()
        send(
            client, DETAIL_RUN_FINISHED, {"run_id": apply_id, "sequence": 9, "status": "succeeded"}
        )
    metrics = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    [change] = [m for m in metrics if "MonthlyCostChange" in m]
    assert change["MonthlyCostChange"] == [
        pytest.approx(float(estimate_plan(json.loads(PLAN.read_text())).total_monthly_cost))
    ]
