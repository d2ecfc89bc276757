"""What a run did: the outcome of its step results, the tags it may set, the hosts it needs."""

from __future__ import annotations

import pytest

from chalicelib.jobs import StepResult
from runners.executor import run_outcome
from runners.inventory import no_hosts_reason
from runners.steps.images import tags_wanted


def step(name: str, kind: str, status: str = "succeeded", reason: str | None = None):
    return StepResult(name=name, kind=kind, status=status, reason=reason)  # type: ignore[arg-type]


def test_a_run_whose_only_step_was_skipped_did_nothing():
    deploy = step("deploy", "compose_deploy", "skipped", "no container engine")
    assert run_outcome([deploy]) == ("nothing-done", "deploy skipped: no container engine")


def test_preparation_steps_do_not_count_as_work():
    results = [
        step("init", "terraform_init"),
        step("output", "terraform_output"),
        step("inventory", "inventory", "skipped", "no hosts"),
        step("monitoring", "ansible_playbook", "skipped", "no inventory"),
    ]
    outcome, why = run_outcome(results)
    assert outcome == "nothing-done"
    assert why == "inventory skipped: no hosts; monitoring skipped: no inventory"


@pytest.mark.parametrize(
    "results",
    [
        [step("init", "terraform_init"), step("apply", "terraform_apply"),
         step("inventory", "inventory", "skipped", "no hosts")],
        [step("build", "image_build", "skipped", "no buildah"), step("rewrite", "compose_rewrite")],
        [step("init", "terraform_init")],  # nothing acting at all: nothing to call "not done"
        [],
    ],
)  # fmt: skip
def test_a_run_with_any_acting_step_done_is_done(results):
    assert run_outcome(results) == ("done", None)


BUILT = {
    "images": {"maestrops/backend": "r:5000/maestrops/backend:4-0a3087a"},
    "image_tag": "4-0a3087a",
}


def test_only_images_this_run_built_get_its_tag():
    names = {"images": ["maestrops/backend", "maestrops/frontend"]}
    pushed = {"maestrops/backend": "r:5000/maestrops/backend:4-0a3087a"}  # registry included
    assert tags_wanted(names, BUILT) == pushed
    assert tags_wanted({}, BUILT) == pushed
    assert tags_wanted(names, {}) == {}  # the build was skipped: no tag for anyone
    explicit = {"images": {"maestrops/frontend": "3-1111111"}}
    assert tags_wanted(explicit, {}) == {"maestrops/frontend": "3-1111111"}


def test_outputs_without_hosts_say_which_outputs_there_are():
    assert no_hosts_reason({"hosts": {"app": [{"name": "a", "instance_id": "i-1"}]}}) is None
    reason = no_hosts_reason({"zone_id": "Z1", "bucket": "b"})
    assert reason == (
        "the Terraform outputs have no 'hosts' (outputs: bucket, zone_id): no machines to configure"
    )
    assert "(outputs: none)" in (no_hosts_reason({}) or "")
    assert no_hosts_reason({"hosts": {}}) is not None  # an empty map names no machine either
