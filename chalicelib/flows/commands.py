"""Comment commands on pull requests: ``maestro plan|apply|unlock|help|approve-cost``.

The worker hands every ``issue_comment`` trigger here. A command is read with the prefix
of the ``.gitops.yml`` at the PR's head, the commenter must have write access, and then one
small method per command acts. An accepted command gets an 👀 reaction; a refused one a 😕
and an answer in the thread that says why. Nothing here raises for a user's mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chalicelib.events.comment_parser import Command, help_text, parse_command
from chalicelib.events.trigger import Trigger
from chalicelib.feedback.notices import refusal_comment
from chalicelib.flows.dispatch import Dispatcher
from chalicelib.flows.notify import Notifier
from chalicelib.githost.base import GitHost, GitHostError, PullRequestHead, Reaction
from chalicelib.jobs import Pipeline
from chalicelib.observability import logger
from chalicelib.pipelines.config import CONFIG_PATH, ConfigError, GitOpsConfig, parse_config
from chalicelib.pipelines.identity import apply_before_merge_problem
from chalicelib.pipelines.routing import PipelineRequest
from chalicelib.runs.model import Run, RunStatus, isoformat, utc_now
from chalicelib.runs.query import RunQuery
from chalicelib.runs.rules import approval_mark
from chalicelib.runs.store import RunStore

ACK: Reaction = "eyes"
REFUSED: Reaction = "confused"
PLAN_LOOKBACK = 100


class Refusal(Exception):  # a request answered with a reason, not an error
    """A command that will not run; the message is the answer posted in the thread."""


class CommentCommands:
    def __init__(
        self,
        store: RunStore,
        githost: GitHost,
        notifier: Notifier,
        dispatcher: Dispatcher,
        clock: Callable[[], Any] = utc_now,
    ) -> None:
        self._store = store
        self._githost = githost  # reads only: every write goes through the notifier
        self._notifier = notifier
        self._dispatcher = dispatcher
        self._clock = clock

    def handle(self, trigger: Trigger) -> list[Run]:
        """Act on one comment; returns the runs it started (plan, apply)."""
        if trigger.pr is None or trigger.action != "created" or not trigger.comment_body:
            return []  # issue comments, edits and deletions run nothing
        try:
            head = self._githost.pull_request_head(trigger.repo, trigger.pr)
            # A fork's own .gitops.yml is never read: it could allow itself (`forks.plan`).
            config = self._config(trigger.repo, head.base_branch if head.fork else head.sha)
        except (GitHostError, ConfigError) as exc:
            logger.warning("comment not read", extra={"pr": trigger.pr, "error": str(exc)})
            return []
        prefix = config.comments.command_prefix
        command = parse_command(trigger.comment_body, prefix)
        if command is None:
            return []
        return self._run(command, trigger, head, config)

    def _run(
        self, command: Command, trigger: Trigger, head: PullRequestHead, config: GitOpsConfig
    ) -> list[Run]:
        prefix = config.comments.command_prefix
        try:
            self._authorize(trigger)
            runs = self._act(command, trigger, head, config)
        except (Refusal, GitHostError) as refusal:
            self._answer(trigger, refusal_comment(command.name, str(refusal), prefix=prefix))
            self._react(trigger, REFUSED)
            return []
        self._react(trigger, ACK)
        return runs

    def _act(
        self, command: Command, trigger: Trigger, head: PullRequestHead, config: GitOpsConfig
    ) -> list[Run]:
        if command.name == "help":
            prefix = config.comments.command_prefix
            self._answer(trigger, help_text(prefix, command.error))
            return []
        if command.name == "plan":
            return [self._plan(command, trigger, head, config)]
        if command.name == "apply":
            return [self._apply(command, trigger, head, config)]
        if command.name == "unlock":
            self._unlock(trigger)
            return []
        self._approve_cost(command, trigger, head, config)
        return []

    # -- one method per command -----------------------------------------------------------

    def _plan(
        self, command: Command, trigger: Trigger, head: PullRequestHead, config: GitOpsConfig
    ) -> Run:
        self._check_target(command, config)
        self._check_terraform_pr(head, config, Pipeline.TERRAFORM_PLAN)
        _check_head_seen(trigger, head)
        return self._start(Pipeline.TERRAFORM_PLAN, trigger, head, config)

    def _apply(
        self, command: Command, trigger: Trigger, head: PullRequestHead, config: GitOpsConfig
    ) -> Run:
        settings = config.comments.apply
        if not settings.enabled:
            raise Refusal(
                "apply before merge is off; enable `comments.apply.enabled` in .gitops.yml, "
                "or merge the PR to apply its reviewed plan"
            )
        self._check_target(command, config)
        self._check_terraform_pr(head, config, Pipeline.TERRAFORM_APPLY)
        backend = config.pipeline(Pipeline.TERRAFORM_APPLY).backend
        problem = apply_before_merge_problem(backend or self._dispatcher.default_backend)
        if problem:
            raise Refusal(problem)
        _check_head_seen(trigger, head)
        assert trigger.pr is not None
        state = self._githost.pull_request_state(trigger.repo, trigger.pr)
        missing = [need for need in settings.requires if not getattr(state, need)]
        if missing:
            raise Refusal(f"the PR is not {' and '.join(missing)} (`comments.apply.requires`)")
        run = self._start(Pipeline.TERRAFORM_APPLY, trigger, head, config)
        if run.status == RunStatus.FAILED:
            raise Refusal(run.error or "the apply could not start")
        return run

    def _unlock(self, trigger: Trigger) -> None:
        assert trigger.pr is not None
        released = self._dispatcher.release_pr(trigger.repo, trigger.pr, leave_queues=False)
        if not released:
            raise Refusal(f"PR #{trigger.pr} holds no lock")

    def _approve_cost(
        self, command: Command, trigger: Trigger, head: PullRequestHead, config: GitOpsConfig
    ) -> None:
        self._check_approver(trigger, config)
        plan = self._latest_plan(trigger)
        if plan is None:
            raise Refusal(f"PR #{trigger.pr} has no terraform-plan run to approve")
        _check_approvable(plan, head)
        changes: dict[str, Any] = {
            "approved_by": trigger.sender or "unknown",
            "approved_at": isoformat(self._clock()),
            "approved_for": approval_mark(plan),
        }
        if command.reason:
            changes["approval_reason"] = command.reason[:500]
        approved = self._store.update_fields(plan.id, **changes)
        self._notifier.run_status(  # the red cost status turns green
            approved, "success", f"cost approved by @{changes['approved_by']}"
        )

    # -- checks ---------------------------------------------------------------------------

    def _authorize(self, trigger: Trigger) -> None:
        user = trigger.sender or ""
        if not (user and self._may_write(trigger.repo, user)):
            raise Refusal(f"@{user or 'unknown'} needs write access to {trigger.repo}")

    def _check_approver(self, trigger: Trigger, config: GitOpsConfig) -> None:
        """The cost policy's ``approver_role`` (``maintain`` unless ``.gitops.yml`` says)."""
        from pydantic import ValidationError

        from chalicelib.costs import CostConfig, role_allows

        try:
            required = CostConfig.model_validate(config.cost).policy.approver_role
        except ValidationError as exc:
            raise Refusal(f".gitops.yml `cost` is invalid: {exc.errors()[0]['msg']}") from None
        user = trigger.sender or ""
        role = self._githost.repository_role(trigger.repo, user)
        if not role_allows(role, required):
            raise Refusal(
                f"@{user} has the `{role}` role; approving a cost needs `{required}` "
                "(`cost.policy.approver_role`)"
            )

    @staticmethod
    def _check_target(command: Command, config: GitOpsConfig) -> None:
        terraform = config.terraform
        if command.directory not in (None, terraform.dir):
            raise Refusal(f"only `{terraform.dir}` is configured (.gitops.yml `terraform.dir`)")
        if command.workspace not in (None, terraform.workspace):
            raise Refusal(f"only workspace `{terraform.workspace}` is configured")

    @staticmethod
    def _check_terraform_pr(
        head: PullRequestHead, config: GitOpsConfig, pipeline: Pipeline
    ) -> None:
        if head.fork and not config.forks.plan:
            raise Refusal(
                "this PR comes from a fork, and forks do not run Terraform here "
                "(`forks.plan` in the base branch's .gitops.yml)"
            )
        if head.base_branch != config.terraform.main_branch:
            raise Refusal(
                f"this PR targets `{head.base_branch}`; Terraform runs on PRs into "
                f"`{config.terraform.main_branch}`"
            )
        if not config.pipeline(pipeline).enabled:
            raise Refusal(f"{pipeline.value} is disabled in .gitops.yml")

    # -- helpers --------------------------------------------------------------------------

    def _start(
        self, pipeline: Pipeline, trigger: Trigger, head: PullRequestHead, config: GitOpsConfig
    ) -> Run:
        at_head = trigger.model_copy(
            update={"sha": head.sha, "branch": head.head_branch, "base_branch": head.base_branch}
        )
        request = PipelineRequest(
            pipeline=pipeline,
            sha=head.sha,
            branch=head.head_branch,
            base_branch=head.base_branch,
            pr=trigger.pr,
            reason=f"comment by @{trigger.sender}",
        )
        return self._dispatcher.start(request, at_head, config)

    def _latest_plan(self, trigger: Trigger) -> Run | None:
        query = RunQuery(
            repo=trigger.repo, pr=trigger.pr, pipeline=Pipeline.TERRAFORM_PLAN, limit=1
        )
        runs = self._store.query(query).runs
        return runs[0] if runs else None

    def _config(self, repo: str, sha: str) -> GitOpsConfig:
        return parse_config(self._githost.read_file(repo, CONFIG_PATH, sha))

    def _answer(self, trigger: Trigger, body: str) -> None:
        assert trigger.pr is not None
        self._notifier.answer(trigger.repo, trigger.pr, body)

    def _react(self, trigger: Trigger, content: Reaction) -> None:
        self._notifier.react(trigger.repo, trigger.comment_id, content)

    def _may_write(self, repo: str, user: str) -> bool:
        try:
            return self._githost.has_write_access(repo, user)
        except GitHostError:
            return False  # unknown permissions refuse; the answer says what is needed


def _check_approvable(plan: Run, head: PullRequestHead) -> None:
    """An approval lifts a finished plan's ``block`` verdict on the head the approver sees.

    Given any earlier (the plan still running, its verdict unknown) it would lift a verdict
    nobody has read yet; given on an older commit's plan it would approve another cost.
    """
    label = f"terraform-plan #{plan.run_number} of `{plan.sha[:7]}`"
    if plan.status != RunStatus.SUCCEEDED:
        raise Refusal(
            f"{label} is {plan.status.value}: a cost can be approved only once its plan has "
            "finished with a `block` verdict; comment again then"
        )
    verdict = plan.cost.get("verdict")
    if verdict != "block":
        raise Refusal(
            f"{label} has no blocked cost (verdict: `{verdict or 'none'}`); nothing to approve"
        )
    if plan.sha != head.sha:
        raise Refusal(
            f"{label} is not of the PR's head `{head.sha[:7]}`: approve the head's plan "
            "once it has finished"
        )


def _check_head_seen(trigger: Trigger, head: PullRequestHead) -> None:
    """A command acts on the head its author saw: a head committed after the comment is not.

    The comment's payload names no sha; the head's commit time (from the Git host) must not
    be later than the comment. Unknown times refuse too.
    """
    written, committed = _moment(trigger.comment_time), _moment(head.head_time)
    if written is None or committed is None or committed > written:
        raise Refusal(
            f"the PR's head `{head.sha[:7]}` is newer than this comment (or its time is "
            "unknown): comment again to act on it"
        )


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
