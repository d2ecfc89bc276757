"""The Terraform agrees with the Python code it deploys: metric names and dimensions, the run
store's keys and indexes, the functions' names and environment, the runner's events."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

PER_PIPELINE_TUPLE = "RUNS_BY_PIPELINE"


def module_constants(path: Path) -> dict[str, Any]:
    """Top-level ``NAME = literal`` assignments of a Python file, without importing it."""
    constants: dict[str, Any] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                try:
                    constants[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    # a tuple of names, like RUNS_BY_PIPELINE = (RUNS_STARTED, ...)
                    if isinstance(node.value, ast.Tuple):
                        names = [getattr(e, "id", None) for e in node.value.elts]
                        if all(n in constants for n in names):
                            constants[target.id] = tuple(constants[n] for n in names)
    return constants


@pytest.fixture(scope="module")
def metric_names(kit) -> dict[str, Any]:
    return module_constants(kit.REPO / "chalicelib" / "metric_names.py")


@pytest.fixture(scope="module")
def pipelines(kit) -> list[str]:
    tree = ast.parse((kit.REPO / "chalicelib" / "jobs.py").read_text())
    enum = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Pipeline")
    return [ast.literal_eval(a.value) for a in enum.body if isinstance(a, ast.Assign)]


@pytest.fixture(scope="module")
def metrics_module(kit, tmp_path_factory) -> dict[str, Any]:
    """The controller's metrics module evaluated by the project's Terraform (it needs no
    provider): the alarm specifications and the dashboard exactly as they will be deployed."""
    workdir = tmp_path_factory.mktemp("metrics")
    module = kit.TERRAFORM_DIR / "controller" / "modules" / "metrics"
    (workdir / "main.tf").write_text(
        f'module "metrics" {{\n  source = "{module}"\n}}\n'
        'output "namespace" {\n  value = module.metrics.namespace\n}\n'
        'output "names" {\n  value = module.metrics.names\n}\n'
        'output "alarms" {\n  value = module.metrics.metric_alarms\n}\n'
        'output "dashboard" {\n  value = module.metrics.dashboard_body\n}\n'
    )
    tf = kit.Terraform(kit.terraform_binary(), workdir, kit.base_env(workdir, ""))
    tf.run("init", "-input=false", "-no-color")
    tf.run("apply", "-auto-approve", "-input=false", "-no-color")
    return tf.outputs()


def emitted_metrics(constants: dict[str, Any]) -> set[str]:
    return {
        v
        for k, v in constants.items()
        if isinstance(v, str) and k not in {"NAMESPACE", "SERVICE"} and k.isupper()
    }


def test_namespace_and_names_match_the_python_code(metrics_module, metric_names) -> None:
    assert metrics_module["namespace"] == metric_names["NAMESPACE"]
    assert set(metrics_module["names"].values()) == emitted_metrics(metric_names)


def test_deploy_failed_alarm_fires_on_one_failure_in_five_minutes(metrics_module, metric_names):
    alarm = metrics_module["alarms"]["deploy-failed"]
    assert alarm["metric_name"] == metric_names["DEPLOY_FAILED"]
    assert alarm["statistic"] == "Sum" and alarm["period"] == 300 and alarm["threshold"] == 1
    assert alarm["comparison"] == "GreaterThanOrEqualToThreshold"
    # DeployFailed carries only the service dimension, so one alarm covers every pipeline.
    assert alarm["dimensions"] == {"service": metric_names["SERVICE"]}


def test_every_alarm_uses_an_emitted_metric_with_its_dimensions(metrics_module, metric_names):
    per_pipeline = set(metric_names[PER_PIPELINE_TUPLE])
    for name, alarm in metrics_module["alarms"].items():
        assert alarm["metric_name"] in emitted_metrics(metric_names), name
        # An alarm without the pipeline dimension would never see a per-pipeline metric.
        assert alarm["metric_name"] not in per_pipeline, name
        assert alarm["dimensions"] == {"service": metric_names["SERVICE"]}, name


def test_dashboard_metrics_exist_with_the_dimensions_they_are_emitted_with(
    metrics_module, metric_names, pipelines
) -> None:
    widgets = json.loads(metrics_module["dashboard"])["widgets"]
    per_pipeline = set(metric_names[PER_PIPELINE_TUPLE])
    seen: dict[str, set[str]] = {}
    for widget in widgets:
        for metric in widget["properties"]["metrics"]:
            namespace, name, *dims = metric
            if namespace != metric_names["NAMESPACE"]:
                continue
            dimensions = dict(zip(dims[::2], dims[1::2], strict=True))
            assert name in emitted_metrics(metric_names), name
            assert dimensions["service"] == metric_names["SERVICE"]
            expected = {"service", "pipeline"} if name in per_pipeline else {"service"}
            assert set(dimensions) == expected, (name, dimensions)
            if "pipeline" in dimensions:
                seen.setdefault(name, set()).add(dimensions["pipeline"])
    # Runs per pipeline, failures and durations, for every pipeline the controller knows.
    for name in ("RUNS_STARTED", "RUNS_FAILED", "RUN_DURATION"):
        assert seen[metric_names[name]] == set(pipelines), name


def test_controller_alarms_and_dashboard_come_from_the_metrics_module(hcl) -> None:
    alarms = {n: b for _, n, b in hcl.resources("aws_cloudwatch_metric_alarm")}
    controller = alarms["controller"]
    assert controller["for_each"] == "${module.metrics.metric_alarms}"
    assert controller["namespace"] == "${module.metrics.namespace}"
    assert controller["metric_name"] == "${each.value.metric_name}"
    assert controller["dimensions"] == "${each.value.dimensions}"
    assert all(b["alarm_actions"] == ["${aws_sns_topic.alarms.arn}"] for b in alarms.values())
    dashboards = [b for _, _, b in hcl.resources("aws_cloudwatch_dashboard")]
    assert dashboards == [
        {"dashboard_name": "${local.name}", "dashboard_body": "${module.metrics.dashboard_body}"}
    ]


def test_dlq_and_lambda_error_alarms_exist(hcl) -> None:
    alarms = {n: b for _, n, b in hcl.resources("aws_cloudwatch_metric_alarm")}
    assert alarms["dlq"]["metric_name"] == "ApproximateNumberOfMessagesVisible"
    assert alarms["lambda_errors"]["for_each"] == "${local.lambda_names}"
    assert alarms["lambda_errors"]["metric_name"] == "Errors"


def test_tables_follow_the_store_design(hcl, kit) -> None:
    store = (kit.REPO / "docs" / "store.md").read_text()
    documented_indexes = set(re.findall(r"index `(\w+)`", store))
    tables = {n: b for _, n, b in hcl.resources("aws_dynamodb_table")}
    main = tables["main"]
    assert (main["hash_key"], main["range_key"]) == ("pk", "sk")
    assert main["ttl"][0]["attribute_name"] == "expires_at"
    assert "`expires_at` | N | TTL" in store
    indexes = hcl.file("controller/dynamodb.tf").body["locals"][0]["run_indexes"]
    store_code = module_constants(kit.REPO / "chalicelib" / "store" / "runs.py")
    # The indexes the store queries, the ones the design documents, and the ones deployed.
    assert set(indexes) == documented_indexes == set(store_code["INDEXES"])
    for index_name, keys in indexes.items():
        prefix = store_code["INDEXES"][index_name]
        assert keys == {"hash": f"{prefix}pk", "range": f"{prefix}sk"}, index_name
        assert re.search(rf"`{prefix}pk`, `{prefix}sk` \| S \| index `{index_name}`", store)
    idempotency = tables["idempotency"]
    assert idempotency["hash_key"] == "id"
    assert idempotency["ttl"][0]["attribute_name"] == "expiration"


REQUIRED_ENVIRONMENT = {
    "MAESTRO_TABLE",
    "MAESTRO_IDEMPOTENCY_TABLE",
    "MAESTRO_QUEUE_URL",
    "MAESTRO_ARTIFACTS_BUCKET",
    "MAESTRO_WEBHOOK_SECRET_NAME",
    "MAESTRO_GITHUB_PRIVATE_KEY_SECRET",
    "MAESTRO_ALLOWED_REPOS",
    "MAESTRO_EVENT_BUS",
    "MAESTRO_RUNNER_BACKEND",
    "MAESTRO_CODEBUILD_PROJECT",
    "MAESTRO_ECS_CLUSTER",
    "MAESTRO_ECS_TASK_DEFINITION",
    "MAESTRO_ECS_SUBNETS",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
}
# Settings that only local mode uses, or that have a sensible default in AWS.
# Optional in AWS: the write budget is on for GitHub by default, and a token secret is the
# alternative to the GitHub App the deployment configures.
OPTIONAL_SETTINGS = {"MAESTRO_WRITE_BUDGET", "MAESTRO_GITHUB_TOKEN_SECRET"}
LOCAL_ONLY_SETTINGS = {
    "MAESTRO_MAX_BODY_BYTES",
    "MAESTRO_API_TOKEN",
    "MAESTRO_DATA_DIR",
    "MAESTRO_REPOS_DIR",
    "MAESTRO_OAUTH_CLIENT_SECRET",  # local mode's OAuth secret; AWS reads Secrets Manager
}

# Set by the Lambda runtime, and reserved: a function's configuration may not set them.
LAMBDA_RUNTIME = {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME"}


def lambda_environment(hcl) -> dict[str, str]:
    return hcl.file("controller/outputs.tf").body["locals"][0]["lambda_environment"]


def test_functions_get_every_variable_the_controller_reads(hcl, kit, metric_names) -> None:
    environment = lambda_environment(hcl)
    assert set(environment) >= REQUIRED_ENVIRONMENT
    settings = ast.parse((kit.REPO / "chalicelib" / "settings.py").read_text())
    variables = next(
        ast.literal_eval(n.value)
        for n in settings.body
        if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "_VARIABLES"
    )
    read = set(variables.values()) - LOCAL_ONLY_SETTINGS - OPTIONAL_SETTINGS - LAMBDA_RUNTIME
    assert read <= set(environment), read - set(environment)
    # Lambda refuses reserved names in a function's configuration; it sets them itself.
    assert not LAMBDA_RUNTIME & set(environment)
    assert environment["POWERTOOLS_METRICS_NAMESPACE"] == "${module.metrics.namespace}"
    assert environment["POWERTOOLS_SERVICE_NAME"] == "${var.app_name}"
    app_name = hcl.file("controller/variables.tf").body["variable"][0]["app_name"]["default"]
    assert app_name == metric_names["SERVICE"]


def test_functions_get_the_github_app_credentials_the_host_adapter_reads(hcl, kit) -> None:
    settings = (kit.REPO / "chalicelib" / "settings.py").read_text()
    read = set(re.findall(r'"(MAESTRO_GITHUB_[A-Z_]+)"', settings)) - {
        "MAESTRO_GITHUB_TOKEN_SECRET"
    }
    environment = lambda_environment(hcl)
    assert read and read <= set(environment), read - set(environment)
    assert environment["MAESTRO_GITHUB_PRIVATE_KEY_SECRET"].endswith('["github-app"].name}')


def decorated_function_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call):
                    for keyword in decorator.keywords:
                        if keyword.arg == "name":
                            names.add(ast.literal_eval(keyword.value))
    return names


def test_function_names_match_the_chalice_handlers(hcl, kit) -> None:
    names = hcl.file("controller/locals.tf").body["locals"][0]["lambda_names"]
    assert names["api_handler"] == "${local.name}"
    assert all(v == f"${{local.name}}-{k}" for k, v in names.items() if k != "api_handler")
    workers = kit.REPO / "chalicelib" / "workers.py"
    handlers = decorated_function_names(workers)
    assert {"dispatch_events", "on_runner_event", "reap_stuck_runs"} <= handlers
    assert handlers <= set(names), handlers - set(names)


def test_service_state_changes_route_to_on_runner_event(hcl) -> None:
    patterns = hcl.file("controller/events.tf").body["locals"][0]["service_state_patterns"]
    routed = {(p["source"][0], p["detail-type"][0]) for p in patterns.values()}
    assert routed == {
        ("aws.codebuild", "CodeBuild Build State Change"),
        ("aws.ecs", "ECS Task State Change"),
        ("aws.ssm", "EC2 Command Status-change Notification"),
    }
    targets = {n: b for _, n, b in hcl.resources("aws_cloudwatch_event_target")}
    assert targets["service_state"]["arn"] == '${local.lambda_arns["on_runner_event"]}'
    mapping = {n: b for _, n, b in hcl.resources("aws_lambda_event_source_mapping")}
    dispatch = mapping["dispatch_events"]
    assert dispatch["function_response_types"] == ["ReportBatchItemFailures"]
    assert dispatch["event_source_arn"] == "${aws_sqs_queue.events.arn}"


def test_ecs_container_name_is_the_one_the_backend_overrides(hcl, kit) -> None:
    ecs = (kit.REPO / "chalicelib" / "backends" / "ecs.py").read_text()
    container = re.search(r'container: str = "([^"]+)"', ecs).group(1)
    runner = hcl.file("controller/runner.tf").text
    assert f'name                   = "{container}"' in runner


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """jq's ``*``: objects merge recursively, anything else is replaced."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def test_chalice_builds_every_function_with_the_roles_terraform_makes(hcl, kit) -> None:
    """Chalice's own application graph, for the real app with the stage block the controller
    outputs: every function it deploys is one Terraform made a role (and an alarm) for."""
    import importlib.util

    from chalice.config import Config
    from chalice.deploy import models
    from chalice.deploy.appgraph import ApplicationGraphBuilder

    # Loaded by path under its own name: `app` is also the sample application's folder.
    spec = importlib.util.spec_from_file_location("maestrops_chalice_app", kit.REPO / "app.py")
    app_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app_module)
    names = hcl.file("controller/locals.tf").body["locals"][0]["lambda_names"]
    output = next(
        b
        for entry in hcl.file("controller/outputs.tf").body["output"]
        for n, b in entry.items()
        if n == "chalice_stage_config"
    )["value"]
    assert output["manage_iam_role"] is False
    assert output["lambda_functions"].startswith("${{for k, r in aws_iam_role.lambda")
    block = {
        "manage_iam_role": False,
        "iam_role_arn": "arn:aws:iam::123456789012:role/api_handler",
        "environment_variables": {"MAESTRO_TABLE": "runs"},
        "lambda_functions": {
            key: {"iam_role_arn": f"arn:aws:iam::123456789012:role/{key}"} for key in names
        },
    }
    # The repository's own stage configuration, with the block merged as docs/deploy.md does.
    on_disk = json.loads((kit.REPO / ".chalice" / "config.json").read_text())
    on_disk["stages"]["prod"] = deep_merge(on_disk["stages"]["prod"], block)
    config = Config(
        chalice_stage="prod",
        user_provided_params={"chalice_app": app_module.app, "project_dir": str(kit.REPO)},
        config_from_disk=on_disk,
    )
    functions: dict[str, models.LambdaFunction] = {}

    def collect(resource: models.Model) -> None:
        if isinstance(resource, models.LambdaFunction):
            functions[resource.function_name] = resource
        for dependency in resource.dependencies():
            collect(dependency)

    collect(ApplicationGraphBuilder().build(config, "prod"))
    expected = {
        value.replace("${local.name}", "maestrops-prod"): key for key, value in names.items()
    }
    assert set(functions) <= set(expected), set(functions) - set(expected)
    assert {"maestrops-prod", "maestrops-prod-dispatch_events"} <= set(functions)
    for function_name, function in functions.items():
        assert isinstance(function.role, models.PreCreatedIAMRole), function_name
        assert function.role.role_arn.endswith(f"role/{expected[function_name]}")
        assert function.environment_variables["MAESTRO_TABLE"] == "runs"


def terraform_resource_names(hcl, stage: str = "prod") -> set[str]:
    """The ``name`` (or ``bucket``, ``family``) of every controller resource, with the stage's
    values in place of ``${local.name}`` and friends."""
    names = set()
    for f in hcl.files:
        if "controller" not in f.path.parts:
            continue
        for _, _, body in f.blocks("resource"):
            for attribute in ("name", "bucket", "family"):
                value = body.get(attribute)
                if isinstance(value, str):
                    names.add(
                        value.replace("${local.name}", f"maestrops-{stage}")
                        .replace("${var.app_name}", "maestrops")
                        .replace("${var.stage}", stage)
                        .replace("${local.events_queue_name}", f"maestrops-{stage}-events.fifo")
                    )
    return names


def test_hand_written_chalice_policies_name_the_resources_terraform_creates(hcl, kit) -> None:
    """.chalice/policy-<stage>-*.json (Chalice-managed roles, the deploy without the merge)
    must point at what terraform/controller creates, or those functions fail at run time."""
    policies = sorted((kit.REPO / ".chalice").glob("policy-prod-*.json"))
    if not policies:
        pytest.skip("no hand-written Chalice policies in .chalice/")
    created = terraform_resource_names(hcl)
    created |= {
        f"maestrops/prod/{k}"
        for k in ("webhook-secret", "github-app", "registry", "oauth-client-secret", "session-key")
    }
    referenced = set()
    for path in policies:
        for statement in json.loads(path.read_text())["Statement"]:
            resources = statement.get("Resource", [])
            for resource in [resources] if isinstance(resources, str) else resources:
                if ":logs:" in resource:
                    continue  # the functions' own log groups, which Lambda creates
                for match in re.finditer(r"(maestrops[-/][a-z0-9./-]*[a-z0-9])", resource):
                    referenced.add(match.group(1).removesuffix("-").split("/index")[0])
    referenced = {r.split("/")[0] if r.startswith("maestrops-") else r for r in referenced}
    assert referenced, "no resource names found in the policies"
    missing = {r for r in referenced if not any(c == r or c.startswith(r) for c in created)}
    assert not missing, f"named in .chalice policies, not created by Terraform: {missing}"
