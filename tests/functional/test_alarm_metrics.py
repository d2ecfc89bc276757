"""The ``deploy-failed`` alarm sees every failed ending of a deploying pipeline.

Through the Chalice handlers on moto, powertools printing its EMF documents to stdout as it
does in Lambda: each way a terraform-apply can end badly (its runner's result, a runner that
died, the reaper, a dispatch that failed) emits ``DeployFailed`` once, in the namespace and
with exactly the dimensions of the alarm that ``terraform/controller`` defines, read from its
files with python-hcl2. The service name is a deployment's own ``app_name``, reaching the
functions as ``POWERTOOLS_SERVICE_NAME`` as ``terraform/controller`` sets it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest
from chalice.test import Client

from app import app
from chalicelib.backends.base import DispatchError, RunnerRef, RunnerState
from chalicelib.backends.registry import BackendRegistry
from chalicelib.jobs import JobSpec
from chalicelib.metric_names import DEPLOYING_PIPELINES, SERVICE
from chalicelib.observability import configure
from chalicelib.runs.model import Run, RunStatus
from chalicelib.services import Services, set_services
from chalicelib.settings import Settings
from tests.functional.conftest import Controller
from tests.functional.flows.test_endings import (
    merge_and_start_apply,
    metrics,
    reap_after,
    runs_of,
)
from tests.functional.locks.scenario import Clock, close_pr, finish, install_gate, open_pr

ROOT = Path(__file__).resolve().parents[2]
CONTROLLER = ROOT / "terraform" / "controller"
APP_NAME = "acme-gitops"  # a deployment's app_name, not the default
CODEBUILD_EVENT = (
    ROOT / "tests" / "fixtures" / "runners" / "events" / "codebuild-build-state-change.json"
)
FIXTURE_RUN_ID = "01JRUN0000CODEBUILD"


def unquote(value: Any) -> Any:
    """python-hcl2 keeps string literals' quotes and adds ``__is_block__``: plain values."""
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def hcl(relative: str) -> dict[str, Any]:
    return dict(unquote(hcl2.loads((CONTROLLER / relative).read_text())))


def watched_by_the_alarm(app_name: str) -> dict[str, Any]:
    """Namespace, metric name and dimensions of the deploy-failed alarm, for ``app_name``.

    Follows the references as Terraform would: the alarm resource takes the metrics module's
    namespace and alarm specification; the module's ``service`` is ``var.app_name``.
    """
    [alarm] = [
        body["controller"]
        for block in hcl("alarms.tf")["resource"]
        for kind, body in block.items()
        if kind == "aws_cloudwatch_metric_alarm" and "controller" in body
    ]
    assert alarm["namespace"] == "${module.metrics.namespace}"
    assert alarm["metric_name"] == "${each.value.metric_name}"
    assert alarm["dimensions"] == "${each.value.dimensions}"
    [module] = [m["metrics"] for m in hcl("alarms.tf")["module"] if "metrics" in m]
    assert module["source"] == "./modules/metrics"
    variables = {"service": {"${var.app_name}": app_name}[module["service"]]}
    metrics_locals = hcl("modules/metrics/main.tf")["locals"][0]
    spec = metrics_locals["metric_alarms"]["deploy-failed"]
    names = metrics_locals["names"]
    metric_name = spec["metric_name"].removeprefix("${local.names.").removesuffix("}")
    dimensions = {
        key: variables[value.removeprefix("${var.").removesuffix("}")]
        for key, value in spec["dimensions"].items()
    }
    return {
        "namespace": metrics_locals["namespace"],
        "metric": names[metric_name],
        "dimensions": dimensions,
    }


def deploy_failed(output: str) -> list[dict[str, Any]]:
    """Each DeployFailed data point printed: namespace, dimensions and their values."""
    found = []
    for document in metrics(output):
        for directive in document["_aws"]["CloudWatchMetrics"]:
            if "DeployFailed" in [m["Name"] for m in directive["Metrics"]]:
                [dimension_set] = directive["Dimensions"]
                found.append(
                    {
                        "namespace": directive["Namespace"],
                        "metric": "DeployFailed",
                        "dimensions": {name: document[name] for name in dimension_set},
                        "value": sum(_values(document["DeployFailed"])),
                    }
                )
    return found


def _values(value: float | list[float]) -> list[float]:
    return value if isinstance(value, list) else [value]


class RefusingBackend:
    """A runner service that refuses every start, as CodeBuild does over a quota."""

    name = "recording"

    def start(self, job: JobSpec) -> RunnerRef:
        raise DispatchError("AccountLimitExceededException: concurrent builds")

    def status(self, ref: RunnerRef) -> RunnerState:
        return "pending"

    def cancel(self, ref: RunnerRef) -> None:
        pass


@pytest.fixture
def deployed(controller: Controller, monkeypatch: pytest.MonkeyPatch) -> Iterator[Controller]:
    """The functional controller, configured as terraform/controller configures a deployment
    whose app_name is APP_NAME, with metrics on."""
    [environment] = hcl("outputs.tf")["locals"]
    assert environment["lambda_environment"]["POWERTOOLS_SERVICE_NAME"] == "${var.app_name}"
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", APP_NAME)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    configured = Settings.from_env().service_name
    settings = controller.services.settings.model_copy(update={"service_name": configured})
    backend = controller.backend
    registry = BackendRegistry(settings, {"recording": lambda: backend})
    controller.services = Services(settings, backends=registry)
    set_services(controller.services)
    install_gate(controller, Clock())
    yield controller
    configure(SERVICE)


def refuse_dispatch(controller: Controller) -> None:
    services = controller.services
    services.backends = BackendRegistry(services.settings, {"recording": RefusingBackend})
    for built_on_the_backends in ("dispatcher", "commands", "runner_events", "reaper"):
        services.__dict__.pop(built_on_the_backends, None)


def merge_with_refused_dispatch(controller: Controller, client: Client, pr: int) -> Run:
    sha = open_pr(controller, client, pr)
    [plan] = runs_of(controller, pr, "terraform-plan")
    finish(client, plan.id)
    refuse_dispatch(controller)
    close_pr(controller, client, pr, sha, merged=True)
    [apply] = runs_of(controller, pr, "terraform-apply")
    return apply


def runner_reports_failure(controller: Controller, client: Client, apply: Run) -> Run:
    finish(client, apply.id, status="failed")
    return controller.services.store.get(apply.id)


def runner_reports_unknown(controller: Controller, client: Client, apply: Run) -> Run:
    finish(client, apply.id, status="unknown")
    return controller.services.store.get(apply.id)


def runner_dies(controller: Controller, client: Client, apply: Run) -> Run:
    """CodeBuild's own state change: the build failed and the runner never reported."""
    event = json.loads(CODEBUILD_EVENT.read_text().replace(FIXTURE_RUN_ID, apply.id))
    client.lambda_.invoke("on_runner_event", event)
    return controller.services.store.get(apply.id)


def reaper_finds_it_silent(controller: Controller, client: Client, apply: Run) -> Run:
    [ended] = [run for run in reap_after(controller, minutes=11) if run.id == apply.id]
    return ended


ENDINGS: dict[str, tuple[Callable[[Controller, Client, Run], Run], RunStatus]] = {
    "runner-failed": (runner_reports_failure, RunStatus.FAILED),
    "runner-unknown": (runner_reports_unknown, RunStatus.UNKNOWN),
    "runner-died": (runner_dies, RunStatus.UNKNOWN),
    "reaper": (reaper_finds_it_silent, RunStatus.UNKNOWN),
}


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_a_failed_apply_raises_the_alarm_the_controller_stack_defines(
    deployed: Controller, capsys: pytest.CaptureFixture[str], ending: str
) -> None:
    end, expected = ENDINGS[ending]
    with Client(app) as client:
        apply = merge_and_start_apply(deployed, client, 7)
        capsys.readouterr()
        ended = end(deployed, client, apply)
        printed = capsys.readouterr().out
    assert ended.status == expected
    watched = watched_by_the_alarm(APP_NAME)
    assert deploy_failed(printed) == [{**watched, "value": 1.0}]


def test_a_deploy_that_fails_before_dispatch_raises_the_alarm(
    deployed: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    with Client(app) as client:
        capsys.readouterr()
        apply = merge_with_refused_dispatch(deployed, client, 7)
        printed = capsys.readouterr().out
    assert apply.status == RunStatus.FAILED and "concurrent builds" in (apply.error or "")
    assert deploy_failed(printed) == [{**watched_by_the_alarm(APP_NAME), "value": 1.0}]


def test_an_apply_whose_runner_never_started_raises_the_alarm_when_reaped(
    deployed: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    with Client(app) as client:
        sha = open_pr(deployed, client, 7)
        [plan] = runs_of(deployed, 7, "terraform-plan")
        finish(client, plan.id)
        close_pr(deployed, client, 7, sha, merged=True)
    [apply] = runs_of(deployed, 7, "terraform-apply")
    capsys.readouterr()
    [ended] = [run for run in reap_after(deployed, minutes=24 * 60) if run.id == apply.id]
    printed = capsys.readouterr().out
    assert ended.status == RunStatus.TIMED_OUT
    assert deploy_failed(printed) == [{**watched_by_the_alarm(APP_NAME), "value": 1.0}]


def test_resolving_an_unknown_apply_does_not_count_it_twice(
    deployed: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    with Client(app) as client:
        apply = merge_and_start_apply(deployed, client, 7)
        capsys.readouterr()
        runner_reports_unknown(deployed, client, apply)
        response = client.http.post(
            f"/runs/{apply.id}/resolve",
            headers={"Authorization": "Bearer test-token", "Content-Type": "application/json"},
            body=json.dumps({"as": "failed"}),
        )
        printed = capsys.readouterr().out
    assert response.status_code == 200, response.body
    assert len(deploy_failed(printed)) == 1  # at the unknown ending, not again at the resolve


def test_a_successful_apply_and_a_failed_plan_raise_nothing(
    deployed: Controller, capsys: pytest.CaptureFixture[str]
) -> None:
    with Client(app) as client:
        capsys.readouterr()
        apply = merge_and_start_apply(deployed, client, 7)
        finish(client, apply.id)
        open_pr(deployed, client, 8)
        [plan] = runs_of(deployed, 8, "terraform-plan")
        finish(client, plan.id, status="failed")
        printed = capsys.readouterr().out
    assert deployed.services.store.get(apply.id).status == RunStatus.SUCCEEDED
    assert deploy_failed(printed) == []
    assert "RunsFailed" in printed  # metrics were on: the plan's failure was counted


def test_every_deploying_pipeline_is_one_the_alarm_describes() -> None:
    spec = hcl("modules/metrics/main.tf")["locals"][0]["metric_alarms"]["deploy-failed"]
    for pipeline in DEPLOYING_PIPELINES:
        assert pipeline in spec["description"]


def test_the_service_name_is_read_from_powertools_variable() -> None:
    assert Settings.from_env({"POWERTOOLS_SERVICE_NAME": APP_NAME}).service_name == APP_NAME
    assert Settings.from_env({}).service_name == SERVICE
