"""A reviewed plan file swapped after its review is refused before ``terraform apply``.

Real Terraform 1.0.3 and the null provider. Another pull request's plan run can overwrite
any run's artifacts; the digest the controller recorded when the reviewed plan finished
travels in the apply step's parameters (``plan_sha256``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from chalicelib.plans.digests import APPLY_PARAM
from tests.integration.runners.test_terraform_steps import plan_steps

pytestmark = pytest.mark.slow


def _apply(state: Path, plan_run_id: str, digest: str | None) -> list[tuple[str, str, dict]]:
    params = {"plan_run_id": plan_run_id, **({APPLY_PARAM: digest} if digest else {})}
    return [
        ("init", "terraform_init", {"state_path": str(state)}),
        ("apply", "terraform_apply", params),
    ]


def _log_of(step: dict) -> str:
    return "".join(
        Path(urlparse(uri).path).read_text()
        for name, uri in step["artifacts"].items()
        if name.startswith("log")
    )


def test_a_swapped_plan_is_refused_and_the_untouched_one_applies(bench):
    sha = bench.commit("terraform/null-ok")
    state = bench.root / "state" / "s.tfstate"
    assert bench.run(bench.job("plan-pr1", sha, plan_steps(state)[1:4])) == 0
    # Another PR's plan of the same state: applicable if it got in, with its own release.
    evil = plan_steps(state)[1:4]
    evil[2] = ("plan", "terraform_plan", {"variables": {"release": "evil"}})
    assert bench.run(bench.job("plan-pr2", sha, evil)) == 0
    reviewed = bench.artifacts / "plan-pr1" / "plan.tfplan"
    untouched = reviewed.read_bytes()
    digest = hashlib.sha256(untouched).hexdigest()  # what the controller read at the finish
    shutil.copyfile(bench.artifacts / "plan-pr2" / "plan.tfplan", reviewed)
    swapped = hashlib.sha256(reviewed.read_bytes()).hexdigest()

    for attempt in ("apply-1", "apply-2"):  # the same swap, twice, on the same state
        job = bench.job(attempt, sha, _apply(state, "plan-pr1", digest), pipeline="terraform-apply")
        assert bench.run(job) == 1
        apply = bench.steps_of(attempt)["apply"]
        assert apply["status"] == "failed"
        assert apply["reason"] == (
            "refusing to apply: the reviewed plan changed after review: "
            f"expected sha256 {digest}, found {swapped}"
        )
        assert not state.exists()  # nothing applied, not even an empty state written
        assert "apply -input=false" not in _log_of(apply)

    reviewed.write_bytes(untouched)
    job = bench.job("apply-3", sha, _apply(state, "plan-pr1", digest), pipeline="terraform-apply")
    assert bench.run(job) == 0
    apply = bench.steps_of("apply-3")["apply"]
    log = _log_of(apply)
    assert f"reviewed plan sha256 {digest} matches its review" in log
    assert "apply -input=false" in log
    [resource] = json.loads(state.read_text())["resources"]
    assert resource["instances"][0]["attributes"]["triggers"] == {"release": "one"}


def test_a_plan_recorded_before_digests_applies_and_says_it_went_unchecked(bench):
    sha = bench.commit("terraform/null-ok")
    state = bench.root / "state" / "s.tfstate"
    assert bench.run(bench.job("plan-old", sha, plan_steps(state)[1:4])) == 0
    found = hashlib.sha256((bench.artifacts / "plan-old" / "plan.tfplan").read_bytes()).hexdigest()
    job = bench.job("apply-old", sha, _apply(state, "plan-old", None), pipeline="terraform-apply")
    assert bench.run(job) == 0
    apply = bench.steps_of("apply-old")["apply"]
    warning = f"no recorded digest (a plan from before digests): applied unchecked, sha256 {found}"
    assert warning in apply["reason"] and warning in _log_of(apply)
    assert json.loads(state.read_text())["resources"]
