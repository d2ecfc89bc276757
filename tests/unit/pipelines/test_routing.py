from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.events.trigger import Trigger, trigger_from_payload
from chalicelib.jobs import COMPOSE_COMMIT_MARKER, Pipeline
from chalicelib.pipelines.config import ConfigError, GitOpsConfig, parse_config
from chalicelib.pipelines.routing import chained_pipelines, ignored_before_config, route
from chalicelib.pipelines.steps import steps_for

SHA = "a" * 40
ROOT = Path(__file__).resolve().parents[3]


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
    config = GitOpsConfig()
    assert chained_pipelines(Pipeline.TERRAFORM_APPLY, True, config) == [
        Pipeline.ANSIBLE_MONITORING
    ]
    assert chained_pipelines(Pipeline.TERRAFORM_APPLY, False, config) == []
    assert chained_pipelines(Pipeline.TERRAFORM_PLAN, True, config) == []


def test_a_disabled_pipeline_is_never_chained() -> None:
    config = parse_config("pipelines: {ansible-monitoring: {enabled: false}}")
    assert chained_pipelines(Pipeline.TERRAFORM_APPLY, True, config) == []
    other = parse_config("pipelines: {terraform-plan: {enabled: false}}")
    assert chained_pipelines(Pipeline.TERRAFORM_APPLY, True, other) == [Pipeline.ANSIBLE_MONITORING]


@pytest.mark.parametrize("branch", ["infra_features", "integration", "infra_main", None])
def test_deleting_a_ref_starts_nothing_before_any_config_is_read(branch: str | None) -> None:
    deleted = push(branch, deleted=True).model_copy(update={"sha": "0" * 40})
    expected = f"branch {branch} deleted" if branch else "tag deleted"
    assert ignored_before_config(deleted) == expected
    decision = route(deleted, GitOpsConfig())
    assert decision.requests == [] and decision.ignored == expected
    assert ignored_before_config(push("infra_features")) is None
    assert ignored_before_config(pr("closed", "infra_features", "infra_main", True)) is None


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


def _octokit_deletions() -> list[dict]:
    """GitHub's own push payloads of a deleted ref (``deleted: true``, after ``000…0``)."""
    index = ROOT / "node_modules" / "@octokit" / "webhooks-examples" / "api.github.com"
    if not (index / "index.json").is_file():
        pytest.fail("@octokit/webhooks-examples is not installed: run `make setup`")
    events = json.loads((index / "index.json").read_text())
    pushes = [
        example for event in events if event["name"] == "push" for example in event["examples"]
    ]
    return [example for example in pushes if example["deleted"]]


def test_real_deletion_pushes_of_branches_and_tags_are_ignored() -> None:
    deletions = _octokit_deletions()
    assert deletions and all(d["after"] == "0" * 40 for d in deletions)
    for payload in deletions:
        for ref, expected in (("refs/tags/v1", "tag deleted"), ("refs/heads/integration", None)):
            body = json.dumps({**payload, "ref": ref}).encode()
            trigger = trigger_from_payload("push", "d-del", body)
            assert trigger.deleted and trigger.sha == "0" * 40
            reason = ignored_before_config(trigger)
            assert reason == (expected or "branch integration deleted")
    # A payload that only says so through ``after`` (no ``deleted`` field) is a deletion too.
    bare = {k: v for k, v in deletions[0].items() if k != "deleted"}
    bare["ref"] = "refs/heads/infra_features"
    trigger = trigger_from_payload("push", "d-bare", json.dumps(bare).encode())
    assert ignored_before_config(trigger) == "branch infra_features deleted"


def test_apply_builds_an_inventory_only_for_an_enabled_monitoring() -> None:
    kinds = [s.kind for s in steps_for(Pipeline.TERRAFORM_APPLY, GitOpsConfig())]
    assert kinds == ["terraform_init", "terraform_apply", "terraform_output", "inventory"]
    off = parse_config("pipelines: {ansible-monitoring: {enabled: false}}")
    kinds = [s.kind for s in steps_for(Pipeline.TERRAFORM_APPLY, off)]
    assert kinds == ["terraform_init", "terraform_apply", "terraform_output"]
    monitoring = [s.kind for s in steps_for(Pipeline.ANSIBLE_MONITORING, GitOpsConfig())]
    assert monitoring.index("inventory") < monitoring.index("ansible_playbook")
