from __future__ import annotations

import pytest

from chalicelib.events.trigger import Trigger
from chalicelib.jobs import COMPOSE_COMMIT_MARKER, Pipeline
from chalicelib.pipelines.config import ConfigError, GitOpsConfig, parse_config
from chalicelib.pipelines.routing import chained_pipelines, route

SHA = "a" * 40


def push(branch: str | None, message: str = "change", deleted: bool = False) -> Trigger:
    return Trigger(
        delivery_id="d",
        event="push",
        repo="o/r",
        sha=SHA,
        branch=branch,
        commit_message=message,
        deleted=deleted,
    )


def pr(action: str, head: str, base: str, merged: bool = False, fork: bool = False) -> Trigger:
    return Trigger(
        delivery_id="d",
        event="pull_request",
        action=action,
        repo="o/r",
        sha=SHA,
        branch=head,
        base_branch=base,
        pr=7,
        merged=merged,
        from_fork=fork,
    )


# trigger, pipelines started
ROUTES = [
    (push("infra_features"), ["terraform-validate"]),
    (push("integration"), ["ci-application"]),
    (push("integration", f"bump images {COMPOSE_COMMIT_MARKER}"), []),
    (push("infra_main"), []),  # the merge's own push: the merged PR event applies
    (push("deployment"), []),
    (push("feature/x"), []),
    (push(None), []),  # tag
    (push("infra_features", deleted=True), []),
    (pr("opened", "infra_features", "infra_main"), ["terraform-plan"]),
    (pr("synchronize", "infra_features", "infra_main"), ["terraform-plan"]),
    (pr("reopened", "infra_features", "infra_main"), ["terraform-plan"]),
    (pr("labeled", "infra_features", "infra_main"), []),
    (pr("closed", "infra_features", "infra_main", merged=True), ["terraform-apply"]),
    (pr("closed", "infra_features", "infra_main", merged=False), []),
    (pr("opened", "integration", "deployment"), []),
    (pr("closed", "integration", "deployment", merged=True), ["cd-application"]),
    (pr("closed", "integration", "deployment", merged=False), []),
    (pr("opened", "infra_features", "infra_main", fork=True), []),
    (pr("opened", "hotfix", "infra_main"), []),  # edge not allowed
    (pr("closed", "hotfix", "deployment", merged=True), []),
    (pr("opened", "feature", "master"), []),
]


@pytest.mark.parametrize(("trigger", "expected"), ROUTES)
def test_routing_table(trigger: Trigger, expected: list[str]) -> None:
    decision = route(trigger, GitOpsConfig())
    assert [r.pipeline.value for r in decision.requests] == expected
    if not expected:
        assert decision.ignored, "a trigger that starts nothing must say why"


def test_merge_sends_push_and_closed_but_applies_once() -> None:
    config = GitOpsConfig()
    started = route(pr("closed", "infra_features", "infra_main", merged=True), config).requests
    started += route(push("infra_main"), config).requests
    assert [r.pipeline for r in started] == [Pipeline.TERRAFORM_APPLY]


def test_synchronize_supersedes_older_plans() -> None:
    decision = route(pr("synchronize", "infra_features", "infra_main"), GitOpsConfig())
    assert decision.supersede_pr == 7
    assert route(pr("opened", "infra_features", "infra_main"), GitOpsConfig()).supersede_pr is None


def test_disallowed_edge_is_a_policy_violation_naming_allowed_edges() -> None:
    decision = route(pr("opened", "hotfix", "infra_main"), GitOpsConfig())
    assert decision.policy_violation is not None
    assert "infra_features → infra_main" in decision.policy_violation
    assert "integration → deployment" in decision.policy_violation


def test_forks_plan_when_configured() -> None:
    config = parse_config("forks: {plan: true}")
    decision = route(pr("opened", "infra_features", "infra_main", fork=True), config)
    assert [r.pipeline for r in decision.requests] == [Pipeline.TERRAFORM_PLAN]


def test_custom_branches_and_edges() -> None:
    config = parse_config(
        """
terraform: {feature_branch: dev, main_branch: main}
allowed_edges:
  - {from: dev, to: main}
  - {from: hotfix, to: main}
"""
    )
    assert (
        route(pr("opened", "hotfix", "main"), config).requests[0].pipeline
        == Pipeline.TERRAFORM_PLAN
    )
    assert route(push("dev"), config).requests[0].pipeline == Pipeline.TERRAFORM_VALIDATE


def test_disabled_pipeline_starts_nothing_and_says_so() -> None:
    config = parse_config("pipelines: {terraform-validate: {enabled: false}}")
    decision = route(push("infra_features"), config)
    assert decision.requests == [] and "disabled" in (decision.ignored or "")


def test_closed_pr_releases_its_locks() -> None:
    assert route(pr("closed", "infra_features", "infra_main"), GitOpsConfig()).release_pr == 7


def test_apply_chains_monitoring_only_on_success() -> None:
    assert chained_pipelines(Pipeline.TERRAFORM_APPLY, True) == [Pipeline.ANSIBLE_MONITORING]
    assert chained_pipelines(Pipeline.TERRAFORM_APPLY, False) == []
    assert chained_pipelines(Pipeline.TERRAFORM_PLAN, True) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("terraform: [1, 2]", "terraform: Input should be a valid dictionary"),
        (
            "pipelines: {terraform-plan: {timeout_minutes: 0}}",
            "pipelines.terraform-plan.timeout_minutes",
        ),
        ("pipelines: {deploy-everything: {}}", "pipelines.deploy-everything"),
        ("unknown_key: 1", "unknown_key: Extra inputs are not permitted"),
        ("comments: {behaviour: shout}", "comments.behaviour"),
        ("a: [", "not valid YAML"),
        ("- 1", "must be a mapping"),
    ],
)
def test_invalid_config_names_the_field(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(text)


def test_missing_or_empty_config_gives_the_seed_defaults() -> None:
    for text in (None, "", "# nothing\n"):
        config = parse_config(text)
        assert config.terraform.dir == "terraform/infra"
        assert {(e.source, e.target) for e in config.edges()} == {
            ("infra_features", "infra_main"),
            ("integration", "deployment"),
        }
