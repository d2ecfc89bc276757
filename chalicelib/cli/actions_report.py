"""The feedback of a GitHub Actions run: what the controller would post, posted by the workflow.

``python -m chalicelib.cli.actions_report --job JOB`` runs after ``python -m runners run``
in ``.github/workflows/runner.yml``, whatever that step's outcome. It reads the step results
the runner stored beside the run's artifacts (a folder of the Actions runner, or S3), renders
them with the controller's own ``feedback`` (the plan comment with its cost block, or the
result comment), and posts them to the pull request with the workflow's ``GITHUB_TOKEN``
through the controller's GitHub adapter (threads, markers, split parts, retries). The same
text goes to the job summary (``GITHUB_STEP_SUMMARY``), which a push without a pull request
also gets.

Exit codes: 0 reported; 2 the job or the environment is unusable; 1 GitHub refused.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from chalicelib.feedback.publish import RunFeedback, run_feedback
from chalicelib.githost.base import GitHostError
from chalicelib.jobs import JobSpec, StepResult
from chalicelib.runs.model import Run, RunStatus, truncate_error
from chalicelib.store.artifacts import ArtifactReader

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
# Steps that only prepare: a run whose every other step was skipped did nothing (the
# runner's own rule, runners/executor.py).
PREPARATION_KINDS = frozenset({"terraform_init", "terraform_output", "inventory"})


def run_from_results(
    job: JobSpec, results: Mapping[str, StepResult | None], commit_time: str | None = None
) -> Run:
    """The run record the controller would hold once the runner finished.

    A step with no stored result did not run: the run failed before it (the checkout, or a
    runner that died), unless an earlier step failed and ended the run.
    """
    run = Run(
        commit_time=commit_time,
        id=job.run_id,
        repo=job.repo,
        pipeline=job.pipeline,
        sha=job.sha,
        branch=job.branch,
        pr=job.pr,
        run_number=job.run_number,
        backend=job.backend,
    )
    steps, artifacts = [], {}
    failed: StepResult | None = None
    missing: str | None = None
    for spec in job.steps:
        result = results.get(spec.name)
        if result is None:
            missing = missing or spec.name
            break
        artifacts.update(result.artifacts)
        steps.append(
            {
                "name": result.name,
                "status": result.status,
                "reason": (result.reason or "")[:200] or None,
                "seconds": result.duration_seconds,
            }
        )
        if result.status == "failed":
            failed = result
            break
    changes: dict[str, Any] = {"steps": steps, "artifacts": artifacts}
    if failed is not None:
        why = failed.reason or (f"exit code {failed.exit_code}" if failed.exit_code else "failed")
        error = f"step {failed.name}: {why}\n{failed.log_tail}".strip()
        changes.update(
            status=RunStatus.FAILED, failed_step=failed.name, error=truncate_error(error)
        )
    elif missing is not None:
        first = not steps
        where = "checkout" if first else missing
        error = (
            "the runner ended before its first step (the checkout failed)"
            if first
            else f"step {missing} did not report: the runner ended before it"
        )
        changes.update(status=RunStatus.FAILED, failed_step=where, error=error)
    else:
        changes.update(status=RunStatus.SUCCEEDED, **_outcome(list(results.values())))
    return run.model_copy(update=changes)


def _outcome(results: list[StepResult | None]) -> dict[str, str | None]:
    done = [r for r in results if r is not None]
    acting = [r for r in done if r.kind not in PREPARATION_KINDS]
    if not acting or any(r.status != "skipped" for r in acting):
        return {"outcome": "done", "outcome_reason": None}
    reason = "; ".join(
        f"{r.name} skipped: {r.reason or 'no reason'}" for r in done if r.status == "skipped"
    )
    return {"outcome": "nothing-done", "outcome_reason": reason}


def read_results(job: JobSpec, reader: ArtifactReader) -> dict[str, StepResult | None]:
    """Each step's stored result (``results/<step>.json``), or None where there is none."""
    found: dict[str, StepResult | None] = {}
    for spec in job.steps:
        data = reader.read_bytes(f"{job.artifact_prefix}results/{spec.name}.json")
        try:
            found[spec.name] = StepResult.model_validate_json(data) if data is not None else None
        except ValidationError:
            # The step's code could write its run's artifacts: report what it was, never a
            # document that does not parse as a result.
            found[spec.name] = StepResult(
                name=spec.name, kind=spec.kind, status="failed", reason="its result is unreadable"
            )
    return found


def commit_time(sha: str, workspace: str | None) -> str | None:
    """When ``sha`` was committed, from the workflow's checkout; None where it has no such
    commit. Comments order results by commit time, then run number: without it a late
    report of an older run would look newer than the comment it must not replace."""
    if not workspace:
        return None
    import subprocess

    done = subprocess.run(
        ["git", "-C", workspace, "show", "-s", "--format=%cI", "--end-of-options", sha],
        capture_output=True,
        text=True,
        check=False,
    )
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def run_url(env: Mapping[str, str]) -> str:
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    return f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"


def post(job: JobSpec, feedback: RunFeedback, env: Mapping[str, str]) -> list[str]:
    """The comment parts on the pull request, as the controller posts them (thread per
    pipeline, older results never over newer ones); none without a pull request."""
    from chalicelib.githost.github import GitHub
    from chalicelib.githost.github_auth import TokenAuth
    from chalicelib.githost.http import API_URL, GitHubHttp

    if job.pr is None or not feedback.comments:
        return []
    token = env.get("GITHUB_TOKEN", "")
    if not token:
        raise GitHostError("GITHUB_TOKEN is not set: the workflow passes github.token")
    http = GitHubHttp(auth=TokenAuth(lambda: token), base_url=env.get("GITHUB_API_URL", API_URL))
    github = GitHub(http)
    return github.post_comment_parts(job.repo, job.pr, feedback.comments, thread=str(job.pipeline))


def report(job: JobSpec, env: Mapping[str, str], reader: ArtifactReader) -> tuple[Run, list[str]]:
    when = commit_time(job.sha, env.get("GITHUB_WORKSPACE"))
    run = run_from_results(job, read_results(job, reader), when)
    feedback = run_feedback(run, run_url(env), reader.read_bytes, reader.presigned_url)
    summary = env.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write("\n\n".join([feedback.description, *feedback.comments]) + "\n")
    return run, post(job, feedback, env)


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli.actions_report")
    parser.add_argument("--job", required=True, help="the job file github-job wrote")
    args = parser.parse_args(argv)
    env = os.environ if env is None else env
    try:
        job = JobSpec.model_validate_json(Path(args.job).read_bytes())
    except (OSError, ValidationError) as exc:
        print(f"actions report: no usable job at {args.job}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        run, posted = report(job, env, ArtifactReader())
    except GitHostError as exc:
        print(f"actions report: GitHub refused the comment: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    where = f"comments {', '.join(posted)} on #{job.pr}" if posted else "the job summary"
    print(f"{job.pipeline} run #{job.run_number} {run.status.value}: reported in {where}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
