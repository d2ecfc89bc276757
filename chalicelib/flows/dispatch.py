"""Dispatch: a queued push or pull-request Trigger becomes recorded runs, each handed to a backend.

Safe to run twice on the same message (SQS delivers at least once): run ids derive from the
delivery id and pipeline, so a second pass finds the run it created and only finishes what
the first pass left undone.
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib import metric_names
from chalicelib.backends.base import DispatchError
from chalicelib.backends.registry import BackendRegistry
from chalicelib.events.trigger import Trigger
from chalicelib.flows.endings import RunEndings
from chalicelib.flows.notify import Notifier
from chalicelib.githost.base import GitHost, GitHostError
from chalicelib.jobs import Pipeline
from chalicelib.locks.gate import Fence, LockGate, Promotion
from chalicelib.locks.lease import LockKey
from chalicelib.observability import emit_metric, logger
from chalicelib.pipelines.config import CONFIG_PATH, ConfigError, GitOpsConfig, parse_config
from chalicelib.pipelines.git_access import git_permissions
from chalicelib.pipelines.jobspec import build_job
from chalicelib.pipelines.routing import (
    PipelineRequest,
    RoutingDecision,
    ignored_before_config,
    route,
)
from chalicelib.runs.exceptions import RunExistsError, RunNotFoundError, TransitionConflictError
from chalicelib.runs.model import Run, RunStatus, isoformat, run_id_for, truncate_error, utc_now
from chalicelib.runs.query import RunQuery
from chalicelib.runs.rules import cost_blocked
from chalicelib.runs.store import RunStore
from chalicelib.settings import Settings

ACTIVE = (RunStatus.QUEUED, RunStatus.DISPATCHED, RunStatus.RUNNING)
CONFIG_PIPELINE = "gitops-config"
CONFIG_CACHE_SIZE = 256
# (repo, permissions) -> a token for that repository alone, or None when none can be scoped.
RunnerTokens = Callable[[str, dict[str, str]], str | None]


class Dispatcher:
    def __init__(
        self,
        settings: Settings,
        store: RunStore,
        githost: GitHost,
        notifier: Notifier,
        endings: RunEndings,
        backends: BackendRegistry,
        locks: LockGate | None = None,
        runner_tokens: RunnerTokens | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._githost = githost  # reads .gitops.yml; every write goes through the notifier
        self._notifier = notifier
        self._endings = endings
        self._backends = backends
        self._configs: dict[tuple[str, str], GitOpsConfig] = {}
        self.locks = locks  # workspace leases (chalicelib/locks); None: no locking
        # Mints each job's repository-scoped Git token; None: jobs carry none (local mode).
        self._runner_tokens = runner_tokens

    def process(self, trigger: Trigger) -> list[Run]:
        """Route a push or pull-request ``trigger`` and start what it asks for.

        Returns the runs it touched. Comments go to ``flows.commands`` instead.
        """
        ignored = ignored_before_config(trigger)  # a deleted ref: no commit, no config
        if ignored is not None:
            logger.info("nothing to start", extra={"reason": ignored, "repo": trigger.repo})
            return []
        try:
            config = self._load_config(trigger)
        except (ConfigError, GitHostError) as exc:
            return self._record_config_failure(trigger, str(exc))
        decision = route(trigger, config)
        self._apply_policy(trigger, decision)
        runs = [
            run
            for run in (self._start_once(request, trigger, config) for request in decision.requests)
            if run is not None
        ]
        if decision.supersede_pr is not None and runs:
            self._supersede_older_plans(trigger, runs[0])
        if decision.release_pr is not None and not any(_applying(run) for run in runs):
            self.release_pr(trigger.repo, decision.release_pr)  # else: when the apply ends
        if decision.ignored and not runs:
            logger.info(
                "nothing to start", extra={"reason": decision.ignored, "repo": trigger.repo}
            )
        return runs

    @property
    def default_backend(self) -> str:
        """The backend a pipeline without its own ``backend`` in ``.gitops.yml`` runs on."""
        return self._settings.runner_backend

    def _start_once(
        self, request: PipelineRequest, trigger: Trigger, config: GitOpsConfig
    ) -> Run | None:
        """``start``, unless a run for what this event means exists already (a replay).

        The claim is a conditional write keyed by the meaning (``claim_key``); a replayed body
        with a new delivery id finds the first delivery's run and starts nothing. Returns
        ``None`` when the holder was claimed but not yet created (its own delivery will).
        """
        key = claim_key(trigger, request)
        if key is None:
            return self.start(request, trigger, config)
        run_id = run_id_for(trigger.delivery_id, request.pipeline)
        holder = self._store.claim(key, run_id)
        if holder != run_id and self._left_and_back(trigger.repo, request):
            holder = self._store.claim(key, run_id, replace=holder)
        if holder == run_id:
            return self.start(request, trigger, config)
        logger.info("replay: nothing new to start", extra={"claim": key, "run": holder})
        try:
            return self._store.get(holder)
        except RunNotFoundError:
            return None

    def _load_config(self, trigger: Trigger) -> GitOpsConfig:
        if trigger.from_fork and trigger.base_branch:
            # The fork rule comes from the base branch: a fork's own .gitops.yml could allow
            # itself, so it is never read (a branch moves: not cached).
            text = self._githost.read_file(trigger.repo, CONFIG_PATH, trigger.base_branch)
            return parse_config(text)
        return self.config_at(trigger.repo, trigger.sha)

    def config_at(self, repo: str, sha: str) -> GitOpsConfig:
        """``.gitops.yml`` at ``sha``; raises ``ConfigError`` or ``GitHostError``."""
        # A file at a sha never changes: a burst of events on one commit reads it once.
        key = (repo, sha)
        if key not in self._configs:
            text = self._githost.read_file(repo, CONFIG_PATH, sha)
            if len(self._configs) >= CONFIG_CACHE_SIZE:
                self._configs.pop(next(iter(self._configs)))
            self._configs[key] = parse_config(text)
        return self._configs[key]

    def start(
        self,
        request: PipelineRequest,
        trigger: Trigger,
        config: GitOpsConfig,
        retry_of: str | None = None,
        run_id: str | None = None,
    ) -> Run:
        run = self._create_once(request, trigger, config, retry_of, run_id)
        if run.status != RunStatus.QUEUED:
            return run  # a previous pass already dispatched it
        if self.locks is not None:
            admission = self.locks.admit(run, config, trigger.clone_url)
            self.resume(admission.promotions)
            if not admission.go:  # queued behind another PR's lease; resumed when it frees
                self._notifier.waiting_for_lock(run, admission, config.comments.command_prefix)
                return run
        return self._dispatch(run, config, trigger.clone_url)

    def resume(self, promotions: list[Promotion]) -> list[Run]:
        """Dispatch queued plans that were just given the lease they waited for."""
        runs = []
        for promotion in promotions:
            run = promotion.run
            try:
                config = self._load_config(_trigger_of(run, promotion.clone_url))
            except (ConfigError, GitHostError) as exc:
                runs.append(self._fail(run, str(exc)))
                continue
            runs.append(self._dispatch(run, config, promotion.clone_url))
        return runs

    def release_pr(self, repo: str, pr: int, leave_queues: bool = True) -> list[LockKey]:
        """Release the leases of PR ``pr`` (closed, applied, unlocked) and resume waiters."""
        if self.locks is None:
            return []
        released, promotions = self.locks.release_pr(repo, pr, leave_queues)
        self.resume(promotions)
        return released

    def start_after(
        self,
        source: Run,
        pipeline: Pipeline,
        reason: str,
        delivery_id: str,
        retry_of: str | None = None,
    ) -> Run:
        """Start ``pipeline`` on ``source``'s commit and PR: a chained run or a retry.

        ``.gitops.yml`` is read again at that commit, so the new run follows its config.
        Raises ``ConfigError`` or ``GitHostError`` when it cannot be read.
        """
        trigger = Trigger(
            delivery_id=delivery_id,
            event="push",
            repo=source.repo,
            sha=source.sha,
            branch=source.branch,
            base_branch=source.base_branch,
            pr=source.pr,
            from_fork=source.from_fork,
            commit_time=source.commit_time,
            clone_url=source.clone_url,
        )
        request = PipelineRequest(
            pipeline=pipeline,
            sha=source.sha,
            branch=source.branch,
            base_branch=source.base_branch,
            pr=source.pr,
            reason=reason,
        )
        return self.start(request, trigger, self._load_config(trigger), retry_of=retry_of)

    def _create_once(
        self,
        request: PipelineRequest,
        trigger: Trigger,
        config: GitOpsConfig,
        retry_of: str | None,
        run_id: str | None,
    ) -> Run:
        run_id = run_id or run_id_for(trigger.delivery_id, request.pipeline)
        try:
            return self._store.get(run_id)
        except RunNotFoundError:
            pass
        settings = config.pipeline(request.pipeline)
        run = Run(
            id=run_id,
            repo=trigger.repo,
            pipeline=request.pipeline,
            sha=request.sha,
            branch=request.branch,
            base_branch=request.base_branch,
            pr=request.pr,
            from_fork=trigger.from_fork,
            clone_url=trigger.clone_url,
            run_number=self._store.next_run_number(trigger.repo, request.pipeline),
            delivery_id=trigger.delivery_id,
            reason=request.reason,
            backend=settings.backend or self._settings.runner_backend,
            timeout_minutes=settings.timeout_minutes,
            retry_of=retry_of,
            commit_time=trigger.commit_time,
        )
        if request.pipeline == Pipeline.TERRAFORM_APPLY:
            run.plan_run_id = self._reviewed_plan(trigger.repo, request)
        try:
            self._store.create(run)
        except RunExistsError:
            return self._store.get(run_id)
        emit_metric(metric_names.RUNS_STARTED, pipeline=request.pipeline.value)
        return run

    def _reviewed_plan(self, repo: str, request: PipelineRequest) -> str | None:
        """The newest successful plan of this PR for exactly this commit, if any."""
        if request.pr is None:
            return None
        page = self._store.query(
            RunQuery(repo=repo, pr=request.pr, pipeline=Pipeline.TERRAFORM_PLAN, limit=100)
        )
        for run in page.runs:
            if run.sha == request.sha and run.status == RunStatus.SUCCEEDED:
                return run.id
        return None

    def _cost_blocked(self, plan_run_id: str | None) -> bool:
        if plan_run_id is None:
            return False
        plan = self._store.get(plan_run_id)
        return cost_blocked(plan, self._newest_plan_id(plan.repo, plan.pr))

    def _newest_plan_id(self, repo: str, pr: int | None) -> str | None:
        """The PR's newest plan run, whatever its state (a newer plan voids an approval)."""
        newest = self._newest_plan(repo, pr)
        return newest.id if newest is not None else None

    def _newest_plan(self, repo: str, pr: int | None) -> Run | None:
        if pr is None:
            return None
        query = RunQuery(repo=repo, pr=pr, pipeline=Pipeline.TERRAFORM_PLAN, limit=1)
        runs = self._store.query(query).runs
        return runs[0] if runs else None

    def _left_and_back(self, repo: str, request: PipelineRequest) -> bool:
        """A plan of a head the PR left and came back to (A, B, then A again): plan it again."""
        if request.pipeline != Pipeline.TERRAFORM_PLAN:
            return False
        newest = self._newest_plan(repo, request.pr)
        return newest is not None and newest.sha != request.sha

    def _dispatch(self, run: Run, config: GitOpsConfig, clone_url: str | None) -> Run:
        if run.pipeline == Pipeline.TERRAFORM_APPLY and run.plan_run_id is None:
            return self._fail(
                run,
                f"no successful terraform-plan of {run.sha[:12]} on PR #{run.pr}: "
                "nothing reviewed to apply; re-plan (push to the PR or comment `maestro plan`)",
            )
        if run.pipeline == Pipeline.TERRAFORM_APPLY and self._cost_blocked(run.plan_run_id):
            return self._fail(
                run,
                f"the cost policy blocks plan {run.plan_run_id} and no approval of that plan "
                "stands (none given, or a newer plan voided it): comment `maestro approve-cost` "
                "(approver role) on the finished plan, then retry this run",
            )
        fence = self.locks.fence(run, config) if self.locks is not None else Fence()
        if fence.problem is not None:  # a holder that lost its lease never applies
            return self._fail(run, f"apply refused: {fence.problem}; re-plan the PR")
        try:
            clone = self._clone_url(run.repo, clone_url)
            job = build_job(run, config, self._settings, clone, self._plan_digests(run))
            job.parameters.update(fence.parameters)
            if self._runner_tokens is not None and job.clone_url.startswith("https://"):
                job.git_token = self._runner_tokens(run.repo, git_permissions(run))
            backend = self._backends.get(run.backend)
            ref = backend.start(job)
        except (DispatchError, GitHostError, OSError, ValueError) as exc:
            return self._fail(run, f"dispatch failed: {exc}")
        try:
            run = self._store.transition(
                run.id,
                RunStatus.DISPATCHED,
                runner_ref=ref.id,
                backend=ref.backend,
                dispatched_at=isoformat(utc_now()),
            )
        except TransitionConflictError:
            return self._store.get(run.id)  # the runner already reported; it is ahead of us
        self._notifier.run_status(run, "pending", f"queued: run #{run.run_number}")
        return run

    def _plan_digests(self, run: Run) -> dict[str, str]:
        """What the controller read of the reviewed plan at its finish (none on old records)."""
        if run.pipeline != Pipeline.TERRAFORM_APPLY or run.plan_run_id is None:
            return {}
        return self._store.get(run.plan_run_id).plan_digests

    def _clone_url(self, repo: str, clone_url: str | None) -> str:
        if self._settings.repos_dir:
            return f"{self._settings.repos_dir}/{repo}"
        if not clone_url:
            raise ValueError(f"no clone URL for {repo}")
        return clone_url

    def _fail(self, run: Run, error: str) -> Run:
        logger.warning("run failed before it ran", extra={"run": run.id, "error": error})
        run = self._store.transition(
            run.id, RunStatus.FAILED, error=truncate_error(error), finished_at=isoformat(utc_now())
        )
        return self._endings.report(run)

    def _record_config_failure(self, trigger: Trigger, error: str) -> list[Run]:
        """A broken ``.gitops.yml`` or an unknown sha: record a failed run that says why."""
        decision = route(trigger, GitOpsConfig())
        pipelines = [request.pipeline.value for request in decision.requests] or [CONFIG_PIPELINE]
        runs = []
        for pipeline in pipelines:
            run = Run(
                id=run_id_for(trigger.delivery_id, pipeline),
                repo=trigger.repo,
                pipeline=pipeline,
                status=RunStatus.FAILED,
                sha=trigger.sha,
                branch=trigger.branch,
                base_branch=trigger.base_branch,
                pr=trigger.pr,
                delivery_id=trigger.delivery_id,
                error=truncate_error(error),
            )
            try:
                self._store.create(run)
            except RunExistsError:
                runs.append(self._store.get(run.id))  # reported when it was created
                continue
            runs.append(self._endings.report(run))
        return runs

    def _apply_policy(self, trigger: Trigger, decision: RoutingDecision) -> None:
        if decision.policy_violation is not None:
            self._notifier.policy_violation(trigger, decision.policy_violation)

    def _supersede_older_plans(self, trigger: Trigger, newest: Run) -> None:
        page = self._store.query(
            RunQuery(repo=trigger.repo, pr=trigger.pr, pipeline=Pipeline.TERRAFORM_PLAN, limit=100)
        )
        for run in page.runs:
            if run.id == newest.id or run.status not in ACTIVE or run.sha == newest.sha:
                continue
            try:
                self._store.transition(run.id, RunStatus.SUPERSEDED, superseded_by=newest.id)
            except TransitionConflictError:
                continue  # it finished meanwhile: nothing to supersede
            self._cancel_runner(run)

    def _cancel_runner(self, run: Run) -> None:
        self._backends.cancel(run.backend, run.runner_ref)


def claim_key(trigger: Trigger, request: PipelineRequest) -> str | None:
    """What a webhook event means, as a key: one run per meaning, however often it is sent.

    One plan per (PR, head sha), one apply or deploy per merge commit, one validate or build
    per pushed sha. A reopened PR asks for a fresh plan of the same head, so its key also
    holds the moment GitHub stamped on that reopening (``updated_at``): each reopening plans
    once, its replays none. ``None``: a run nothing deduplicates, a reopening without that
    stamp (comments and retries never come here).
    """
    if trigger.event == "pull_request" and trigger.action == "reopened":
        if not trigger.commit_time:
            return None
        key = f"{trigger.repo}#{request.pipeline.value}#pr{request.pr}#{request.sha}"
        return f"{key}#reopened@{trigger.commit_time}"
    if request.pipeline == Pipeline.TERRAFORM_PLAN:
        return f"{trigger.repo}#{request.pipeline.value}#pr{request.pr}#{request.sha}"
    return f"{trigger.repo}#{request.pipeline.value}#{request.sha}"


def _trigger_of(run: Run, clone_url: str | None) -> Trigger:
    """Enough of the run's trigger to read its config the way the first pass did."""
    return Trigger(
        delivery_id=run.delivery_id or run.id,
        event="pull_request" if run.pr is not None else "push",
        repo=run.repo,
        sha=run.sha,
        branch=run.branch,
        base_branch=run.base_branch,
        pr=run.pr,
        from_fork=run.from_fork,
        clone_url=clone_url,
    )


def _applying(run: Run) -> bool:
    return run.pipeline == Pipeline.TERRAFORM_APPLY and run.status in ACTIVE
