"""Steps that cannot act here are skipped with a reason, and a run that did nothing says so.

Real Terraform and the real null provider for a stack without machines; the real compose
schema check; the real executor and its events. Tools are taken away through ``PATH``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .conftest import FIXTURES, git

pytestmark = pytest.mark.slow

# A stack without the seed's ``hosts``/``inventory_ini`` outputs (a bucket, a DNS zone ...).
NO_HOSTS_STACK = """\
terraform {
  required_providers {
    null = {
      source  = "hashicorp/null"
      version = "2.1.2"
    }
  }
}

resource "null_resource" "bucket" {}

output "bucket_id" {
  value = null_resource.bucket.id
}
"""


def _path_with_only(bench, *tools: str) -> str:
    """A PATH that holds only ``tools`` (git ...): the others are "not installed"."""
    bin_dir = bench.root / "only-bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in tools:
        found = shutil.which(tool)
        assert found, f"{tool} is needed by this test"
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def _no_hosts_sha(bench) -> str:
    return bench.write_and_commit("main.tf", NO_HOSTS_STACK)


def test_apply_of_a_stack_without_hosts_is_a_successful_apply(bench):
    sha = _no_hosts_sha(bench)
    state = bench.root / "state" / "default.tfstate"
    steps = [
        ("init", "terraform_init", {"state_path": str(state)}),
        ("plan", "terraform_plan", {}),
        ("apply", "terraform_apply", {}),
        ("output", "terraform_output", {}),
        ("inventory", "inventory", {}),
    ]
    assert bench.run(bench.job("apply-nh", sha, steps, pipeline="terraform-apply")) == 0
    done = bench.finished("apply-nh")
    assert done["status"] == "succeeded" and done["failed_step"] is None
    assert done["outcome"] == "done" and done["outcome_reason"] is None
    assert set(done["outputs"]) == {"bucket_id"}
    inventory = bench.steps_of("apply-nh")["inventory"]
    assert inventory["status"] == "skipped"
    assert inventory["reason"] == (
        "the Terraform outputs have no 'hosts' (outputs: bucket_id): no machines to configure"
    )
    assert "inventory" not in done["artifacts"]
    assert bench.steps_of("apply-nh")["apply"]["status"] == "succeeded"

    # Day two on the same state: a second apply of the same stack succeeds the same way.
    steps[1:3] = [("plan", "terraform_plan", {}), ("apply", "terraform_apply", {})]
    assert bench.run(bench.job("apply-nh2", sha, steps, pipeline="terraform-apply")) == 0
    assert bench.steps_of("apply-nh2")["inventory"]["status"] == "skipped"


def test_monitoring_of_a_stack_without_hosts_did_nothing_and_says_why(bench):
    sha = _no_hosts_sha(bench)
    state = bench.root / "state" / "default.tfstate"
    apply = [
        ("init", "terraform_init", {"state_path": str(state)}),
        ("plan", "terraform_plan", {}),
        ("apply", "terraform_apply", {}),
    ]
    assert bench.run(bench.job("apply-0", sha, apply, pipeline="terraform-apply")) == 0
    monitoring = [
        ("init", "terraform_init", {"state_path": str(state)}),
        ("output", "terraform_output", {}),
        ("inventory", "inventory", {}),
        ("monitoring", "ansible_playbook", {"playbook": "site.yml", "inventory": "inventory.ini"}),
    ]
    job = bench.job("mon-nh", sha, monitoring, pipeline="ansible-monitoring")
    assert bench.run(job) == 0
    done = bench.finished("mon-nh")
    steps = bench.steps_of("mon-nh")
    assert [steps[n]["status"] for n in ("inventory", "monitoring")] == ["skipped", "skipped"]
    assert steps["monitoring"]["reason"].startswith("no inventory: the Terraform outputs have no")
    assert done["status"] == "succeeded" and done["outcome"] == "nothing-done"
    assert done["outcome_reason"].startswith("inventory skipped: the Terraform outputs have no")
    assert "; monitoring skipped: no inventory:" in done["outcome_reason"]


def test_inventory_without_any_outputs_read_is_still_a_failure(bench):
    """A job that never read the outputs is broken, not a stack without machines."""
    sha = _no_hosts_sha(bench)
    job = bench.job("inv-0", sha, [("inventory", "inventory", {})], pipeline="ansible-monitoring")
    assert bench.run(job) == 1
    assert bench.finished("inv-0")["failed_step"] == "inventory"
    assert "run terraform_output first" in bench.steps_of("inv-0")["inventory"]["reason"]


def test_a_deploy_without_a_container_engine_did_nothing(bench):
    sha = bench.commit("terraform/null-ok")
    bench.env["PATH"] = _path_with_only(bench, "git")
    steps = [("deploy", "compose_deploy", {"compose_file": "docker-compose.yml"})]
    job = bench.job("cd-1", sha, steps, pipeline="cd-application")
    assert bench.run(job) == 0
    done = bench.finished("cd-1")
    reason = "no container engine: docker is not installed on this machine"
    deploy = bench.steps_of("cd-1")["deploy"]
    assert (deploy["status"], deploy["reason"]) == ("skipped", reason)
    assert done["status"] == "succeeded"
    assert (done["outcome"], done["outcome_reason"]) == (
        "nothing-done",
        f"deploy skipped: {reason}",
    )


def _ci_repo(bench) -> tuple[str, Path]:
    """An integration branch with the app's compose file, and its bare origin."""
    (bench.repo / "app").mkdir()
    shutil.copy(
        FIXTURES / "compose" / "app-docker-compose.yml", bench.repo / "app" / "docker-compose.yml"
    )
    sha = bench.write_and_commit("app/.keep", "")
    git(bench.repo, "branch", "-M", "integration")
    origin = bench.root / "origin.git"
    git(bench.root, "clone", "-q", "--bare", str(bench.repo), str(origin))
    return sha, origin


def test_a_skipped_build_commits_no_tags_of_unbuilt_images(bench):
    sha, origin = _ci_repo(bench)
    bench.env["PATH"] = _path_with_only(bench, "git")  # no buildah: the build is skipped
    images = [{"name": "maestrops/backend", "context": "app/backend"}]
    steps = [
        ("build", "image_build", {"registry": "127.0.0.1:5999", "images": images}),
        ("rewrite", "compose_rewrite", {"compose_file": "docker-compose.yml",
                                        "images": ["maestrops/backend"]}),
    ]  # fmt: skip
    job = bench.job(
        "ci-7", sha, steps, pipeline="ci-application", clone_url=str(origin),
        branch="integration", run_number=7, working_dir="app",
    )  # fmt: skip
    assert bench.run(job) == 0
    steps_ = bench.steps_of("ci-7")
    assert steps_["build"]["status"] == "skipped" and "buildah" in steps_["build"]["reason"]
    assert steps_["rewrite"]["status"] == "skipped"
    assert steps_["rewrite"]["reason"] == "no image was built by this run: no tag to set"
    done = bench.finished("ci-7")
    assert done["outcome"] == "nothing-done"
    assert done["outcome_reason"].startswith("build skipped: buildah is not installed")
    # Nothing was committed back: the branch is where it was, its compose file untouched.
    assert git(origin, "rev-parse", "integration") == sha
    assert f"7-{sha[:7]}" not in git(origin, "show", "integration:app/docker-compose.yml")
