"""Routing: a Trigger plus ``.gitops.yml`` gives the pipelines to start. Pure functions.

The default flow (the README's pipeline table), one branch per row:

| event                                      | pipeline             |
|--------------------------------------------|----------------------|
| push to the infra feature branch           | terraform-validate   |
| PR opened/synchronize/reopened into main   | terraform-plan       |
| PR merged into the infra main branch       | terraform-apply      |
| successful terraform-apply (chained)       | ansible-monitoring   |
| push to the integration branch             | ci-application       |
| PR merged from integration into deployment | cd-application       |
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from chalicelib.events.trigger import Trigger
from chalicelib.jobs import COMPOSE_COMMIT_MARKER, Pipeline
from chalicelib.pipelines.config import GitOpsConfig

PLAN_ACTIONS = {"opened", "synchronize", "reopened"}


class PipelineRequest(BaseModel):
    pipeline: Pipeline
    sha: str
    branch: str | None = None
    base_branch: str | None = None
    pr: int | None = None
    reason: str


class RoutingDecision(BaseModel):
    requests: list[PipelineRequest] = Field(default_factory=list)
    supersede_pr: int | None = None  # older plan runs of this PR become superseded
    policy_violation: str | None = None  # text of the failed status on the PR's head
    release_pr: int | None = None  # the PR ended: its workspace leases can go
    ignored: str | None = None  # why nothing starts

    @classmethod
    def ignore(cls, reason: str) -> RoutingDecision:
        return cls(ignored=reason)


def ignored_before_config(trigger: Trigger) -> str | None:
    """Why ``trigger`` starts nothing whatever ``.gitops.yml`` says, or None.

    A push that deletes a branch or tag points at sha ``000…0``: there is no config to read
    and nothing to run, so the controller ignores it before reading anything.

    >>> ignored_before_config(Trigger(delivery_id="d", event="push", repo="o/r",
    ...                               sha="0" * 40, branch="old", deleted=True))
    'branch old deleted'
    """
    if trigger.event == "push" and trigger.deleted:
        return f"branch {trigger.branch} deleted" if trigger.branch else "tag deleted"
    return None


def route(trigger: Trigger, config: GitOpsConfig) -> RoutingDecision:
    """Decide what ``trigger`` starts under ``config``."""
    early = ignored_before_config(trigger)
    if early is not None:
        return RoutingDecision.ignore(early)
    if trigger.event == "push":
        decision = _route_push(trigger, config)
    elif trigger.event == "pull_request":
        decision = _route_pull_request(trigger, config)
    else:
        decision = RoutingDecision.ignore("comment commands are handled by the command parser")
    return _drop_disabled(decision, config)


def _drop_disabled(decision: RoutingDecision, config: GitOpsConfig) -> RoutingDecision:
    enabled = [r for r in decision.requests if config.pipeline(r.pipeline).enabled]
    if len(enabled) == len(decision.requests):
        return decision
    disabled = sorted({r.pipeline.value for r in decision.requests} - {r.pipeline for r in enabled})
    ignored = decision.ignored or (
        None if enabled else f"pipeline disabled in .gitops.yml: {', '.join(disabled)}"
    )
    return decision.model_copy(update={"requests": enabled, "ignored": ignored})


def _route_push(trigger: Trigger, config: GitOpsConfig) -> RoutingDecision:
    if trigger.branch is None:
        return RoutingDecision.ignore("push of a tag, not a branch")
    if trigger.branch == config.terraform.feature_branch:
        return _one(Pipeline.TERRAFORM_VALIDATE, trigger, "push to the infra feature branch")
    if trigger.branch == config.application.integration_branch:
        if COMPOSE_COMMIT_MARKER in trigger.commit_message:
            return RoutingDecision.ignore("commit pushed back by ci-application")
        return _one(Pipeline.CI_APPLICATION, trigger, "push to the integration branch")
    if trigger.branch in config.protected_branches():
        # Merges also arrive as pushes; the merged pull_request event starts the pipeline.
        return RoutingDecision.ignore(f"push to {trigger.branch}: merged PRs drive this branch")
    return RoutingDecision.ignore(f"no pipeline for pushes to {trigger.branch}")


def _route_pull_request(trigger: Trigger, config: GitOpsConfig) -> RoutingDecision:
    base, head = trigger.base_branch, trigger.branch
    if base not in config.protected_branches():
        return RoutingDecision.ignore(f"PR into {base}, which no pipeline watches")
    if not any(edge.source == head and edge.target == base for edge in config.edges()):
        return _policy_violation(trigger, config)
    if trigger.from_fork and not config.forks.plan:
        return RoutingDecision.ignore("PR from a fork: forks do not plan unless forks.plan is on")
    if trigger.action == "closed":
        return _route_closed(trigger, config)
    if trigger.action in PLAN_ACTIONS and base == config.terraform.main_branch:
        decision = _one(Pipeline.TERRAFORM_PLAN, trigger, f"PR {trigger.action}")
        if trigger.action == "synchronize":
            decision.supersede_pr = trigger.pr
        return decision
    return RoutingDecision.ignore(f"pull_request {trigger.action} into {base} starts nothing")


def _route_closed(trigger: Trigger, config: GitOpsConfig) -> RoutingDecision:
    if not trigger.merged:
        return RoutingDecision(ignored="PR closed without merge", release_pr=trigger.pr)
    if trigger.base_branch == config.terraform.main_branch:
        decision = _one(Pipeline.TERRAFORM_APPLY, trigger, "PR merged into the infra main branch")
    else:
        decision = _one(Pipeline.CD_APPLICATION, trigger, "PR merged into the deployment branch")
    decision.release_pr = trigger.pr
    return decision


def _policy_violation(trigger: Trigger, config: GitOpsConfig) -> RoutingDecision:
    allowed = ", ".join(f"{e.source} → {e.target}" for e in config.edges())
    return RoutingDecision(
        policy_violation=(
            f"{trigger.branch} → {trigger.base_branch} is not an allowed edge; allowed: {allowed}"
        ),
        ignored="branch policy",
    )


def _one(pipeline: Pipeline, trigger: Trigger, reason: str) -> RoutingDecision:
    request = PipelineRequest(
        pipeline=pipeline,
        sha=trigger.sha,
        branch=trigger.base_branch if trigger.merged else trigger.branch,
        base_branch=trigger.base_branch,
        pr=trigger.pr,
        reason=reason,
    )
    return RoutingDecision(requests=[request])


def chained_pipelines(pipeline: Pipeline, succeeded: bool, config: GitOpsConfig) -> list[Pipeline]:
    """Pipelines that start when a run of ``pipeline`` ends, minus those ``config`` disables.

    >>> off = GitOpsConfig.model_validate({"pipelines": {"ansible-monitoring": {"enabled": False}}})
    >>> chained_pipelines(Pipeline.TERRAFORM_APPLY, True, off)
    []
    """
    chained = [Pipeline.ANSIBLE_MONITORING] if pipeline == Pipeline.TERRAFORM_APPLY else []
    return [p for p in chained if succeeded and config.pipeline(p).enabled]
