"""The cost step: Infracost v0.10 breakdown (and diff against the base branch) when possible."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from chalicelib.jobs import StepSpec
from runners.context import RunContext, StepOutcome
from runners.exceptions import StepFailedError, StepSkippedError
from runners.process import ProcessRunner
from runners.tools import find_tool

# Infracost 2.0 removed ``diff`` and changed its JSON; this step speaks v0.10's format "0.2".
SUPPORTED_CLI = re.compile(r"v0\.10\.\d+")
SUPPORTED_JSON_VERSION = "0.2"
ENV_INFRACOST_KEY = "INFRACOST_API_KEY"
# AWS mode: the name of the secret holding the key, not the key (terraform/controller runner.tf).
ENV_INFRACOST_SECRET = "MAESTRO_INFRACOST_SECRET"


def _read_secret(secret_id: str) -> str:
    import boto3  # lazy: local mode never reaches here

    return boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]


def infracost_env(
    env: Mapping[str, str], read_secret: Callable[[str], str] = _read_secret
) -> tuple[dict[str, str], str | None]:
    """``INFRACOST_API_KEY`` for the infracost process alone, and why it is missing if so.

    Local mode hands the key in the runner's environment. In AWS the runner's environment
    carries only the secret's name, and the key is read here, when the cost step starts: the
    steps before it (Terraform running the repository's code) never had it in any
    environment. The runner's identity can still read that secret while they run; see
    docs/security.md.
    """
    if env.get(ENV_INFRACOST_KEY):
        return {ENV_INFRACOST_KEY: env[ENV_INFRACOST_KEY]}, None
    secret_id = env.get(ENV_INFRACOST_SECRET)
    if not secret_id:
        return {}, None
    try:
        key = read_secret(secret_id).strip()
    except Exception as exc:  # any refusal or outage: price with the built-in estimator
        return {}, f"the Infracost key could not be read ({type(exc).__name__})"
    if not key:
        return {}, f"the secret {secret_id} holds no Infracost key"
    return {ENV_INFRACOST_KEY: key}, None


def unavailable_reason(binary: str | None, env: dict[str, str]) -> str | None:
    """Why Infracost cannot run here (the step is then ``skipped``), or None."""
    if not binary:
        return "no infracost binary on PATH"
    if not env.get("INFRACOST_API_KEY"):
        return "INFRACOST_API_KEY is not set"
    return None


def breakdown_args(binary: str, plan_json: Path, out: Path) -> list[str]:
    return [
        binary,
        "breakdown",
        "--path",
        str(plan_json),
        "--format",
        "json",
        "--out-file",
        str(out),
    ]


def diff_args(binary: str, plan_json: Path, base: Path, out: Path) -> list[str]:
    """Compare against the base branch's own breakdown, not against the state."""
    return [
        binary, "diff", "--path", str(plan_json), "--compare-to", str(base),
        "--format", "json", "--out-file", str(out),
    ]  # fmt: skip


def _run(
    proc: ProcessRunner, args: list[str], what: str, env: Mapping[str, str] | None = None
) -> None:
    done = proc.run(args, env=env)
    if done.returncode != 0:
        raise StepFailedError(f"infracost {what} exited {done.returncode}", done.returncode)


def estimate(ctx: RunContext, step: StepSpec, proc: ProcessRunner) -> StepOutcome:
    from chalicelib.costs import CostConfig

    config = CostConfig.model_validate(step.params.get("policy") or {})
    binary = find_tool("infracost", ctx.env)
    key_env, unreadable = infracost_env(ctx.env) if binary else ({}, None)
    reason = unavailable_reason(binary, key_env)
    if reason and unreadable:
        reason = unreadable
    if config.estimator == "builtin" or (reason and config.estimator == "auto"):
        return builtin_estimate(ctx, config, why=reason or "configured: estimator builtin")
    if reason:
        raise StepSkippedError(reason)
    assert binary is not None
    version = proc.run([binary, "--version"], capture=True).stdout
    if not SUPPORTED_CLI.search(version):
        raise StepSkippedError(f"infracost {version.strip()} is not v0.10.x")
    plan_json = ctx.files.get("plan_json")
    if not plan_json:
        raise StepFailedError("no plan JSON: the cost step must follow terraform_plan")
    out = ctx.scratch / "cost.json"
    _run(proc, breakdown_args(binary, plan_json, out), "breakdown", key_env)
    if json.loads(out.read_text()).get("version") != SUPPORTED_JSON_VERSION:
        raise StepFailedError(f"infracost JSON is not version {SUPPORTED_JSON_VERSION}")
    artifacts = {"cost": ctx.store.put_file("cost.json", out)}
    priced = out
    if step.params.get("base_breakdown"):
        base = ctx.store.get_file(step.params["base_breakdown"], ctx.scratch / "cost-base.json")
        diff = ctx.scratch / "cost-diff.json"
        _run(proc, diff_args(binary, plan_json, base, diff), "diff", key_env)
        artifacts["cost_diff"] = ctx.store.put_file("cost-diff.json", diff)
        priced = diff
    from chalicelib.costs import parse_infracost

    report = parse_infracost(priced.read_bytes())
    outcome = publish_cost(
        ctx, report, config, json.loads(Path(plan_json).read_text()), "Infracost"
    )
    outcome.artifacts.update(artifacts)
    return outcome


def builtin_estimate(ctx: RunContext, config: Any, why: str) -> StepOutcome:
    """Price the plan from the catalog in the repository when Infracost cannot run."""
    from chalicelib.costs.estimator import estimate_plan

    plan_json = ctx.files.get("plan_json")
    if not plan_json:
        raise StepFailedError("no plan JSON: the cost step must follow terraform_plan")
    plan = json.loads(Path(plan_json).read_text())
    report = estimate_plan(plan, default_region=config.default_region)
    return publish_cost(ctx, report, config, plan, f"built-in estimate ({why})")


def publish_cost(ctx: RunContext, report: Any, config: Any, plan: dict, source: str) -> StepOutcome:
    """Store the cost report, the policy verdict and the insights as JSON artifacts.

    The runner produces data only: the controller renders the cost block of the plan comment
    from these three when it writes the comment (``chalicelib/feedback/publish.py``). A
    ``block`` verdict does not fail the step: the controller turns the plan's status red and
    refuses to apply it until someone with the approver role comments ``maestro approve-cost``.
    """
    from chalicelib.costs import CostInsights, evaluate_policy, find_insights

    insights = find_insights(plan, config.insights, default_region=config.default_region)
    verdict = evaluate_policy(report, config.policy)
    found = CostInsights(insights=tuple(insights))
    store = ctx.store
    artifacts = {
        "cost_report": store.put_bytes("cost-report.json", report.model_dump_json().encode()),
        "cost_policy": store.put_bytes("cost-policy.json", verdict.model_dump_json().encode()),
        "cost_insights": store.put_bytes("cost-insights.json", found.model_dump_json().encode()),
    }
    return StepOutcome(artifacts=artifacts, reason=f"{source}; {verdict.status_description()}")
