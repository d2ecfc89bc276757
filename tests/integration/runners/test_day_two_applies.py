"""Day two of one workspace: plan → apply, again and again, with real Terraform and state.

Each plan and each apply is its own job through the executor, as the controller runs them:
the apply fetches the reviewed plan of another run and checks the state it was made against.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from chalicelib.jobs import Pipeline
from chalicelib.pipelines.config import GitOpsConfig
from chalicelib.pipelines.steps import steps_for
from tests.integration.runners.test_terraform_steps import apply_steps, plan_steps

pytestmark = pytest.mark.slow

NEWER_TERRAFORM = shutil.which("terraform", path="/usr/local/bin")


def _artifact(bench, run_id: str, name: str) -> dict:
    uri = bench.steps_of(run_id)["plan"]["artifacts"][name]
    return json.loads(Path(urlparse(uri).path).read_text())


def _meta(bench, run_id: str) -> dict:
    return _artifact(bench, run_id, "plan_meta")


def _release(bench, name: str) -> str:
    """A commit whose stack has ``release = name``: a change to the null resource."""
    return _release_in(bench, "main.tf", name)


def _release_in(bench, path: str, name: str) -> str:
    text = (bench.repo / path).read_text()
    start = text.index('default = "') + len('default = "')
    text = text[:start] + name + text[text.index('"', start) :]
    return bench.write_and_commit(path, text)


def _cycle(bench, state: Path, number: int, sha: str) -> dict:
    """Plan run, then the apply run of that reviewed plan; returns the apply's end event."""
    plan_id, apply_id = f"plan-{number}", f"apply-{number}"
    assert bench.run(bench.job(plan_id, sha, plan_steps(state)[1:4])) == 0, plan_id
    job = bench.job(apply_id, sha, apply_steps(state, plan_id), pipeline="terraform-apply")
    code = bench.run(job)
    done = bench.finished(apply_id)
    assert code == 0 and done["status"] == "succeeded", bench.steps_of(apply_id)["apply"]
    return done


def _three_cycles(bench, version: str) -> None:
    state = bench.root / "state" / "default.tfstate"
    first = bench.commit("terraform/null-ok")
    done = _cycle(bench, state, 1, first)
    assert _meta(bench, "plan-1")["state"] == {"serial": None, "lineage": None}
    lineage = json.loads(state.read_text())["lineage"]
    serial = json.loads(state.read_text())["serial"]
    assert done["state_serial_after"] == serial
    id_one = done["outputs"]["release_id"]

    # Day two: a change to the stack. The plan was made against the stored state's serial.
    done = _cycle(bench, state, 2, _release(bench, "two"))
    assert _meta(bench, "plan-2")["state"] == {"serial": serial, "lineage": lineage}
    assert _artifact(bench, "plan-2", "plan_summary")["has_changes"]
    assert done["state_serial_before"] == serial and done["state_serial_after"] > serial
    assert done["outputs"]["release_id"] != id_one  # the resource really was replaced
    serial = json.loads(state.read_text())["serial"]

    # Day three: nothing changed; the apply of an empty plan succeeds too.
    done = _cycle(bench, state, 3, bench.write_and_commit("README.md", "docs only\n"))
    assert not _artifact(bench, "plan-3", "plan_summary")["has_changes"]
    assert _meta(bench, "plan-3")["state"] == {"serial": serial, "lineage": lineage}
    assert done["state_serial_before"] == serial
    assert json.loads(state.read_text())["lineage"] == lineage
    assert json.loads(state.read_text())["terraform_version"] == version  # the binary used


def test_three_plan_apply_cycles_on_one_workspace_all_apply(bench):
    _three_cycles(bench, "1.0.3")


@pytest.mark.skipif(NEWER_TERRAFORM is None, reason="no newer Terraform in /usr/local/bin")
def test_three_cycles_with_the_newer_terraform_too(bench):
    bench.env["MAESTRO_TERRAFORM"] = str(NEWER_TERRAFORM)
    _three_cycles(bench, "1.11.4")


def test_refusal_fires_when_another_apply_moved_a_populated_state(bench):
    state = bench.root / "state" / "default.tfstate"
    _cycle(bench, state, 1, bench.commit("terraform/null-ok"))
    sha = _release(bench, "two")
    # Two plans reviewed against the same populated state; the newer one is applied first.
    assert bench.run(bench.job("plan-old", sha, plan_steps(state)[1:4])) == 0
    assert bench.run(bench.job("plan-new", sha, plan_steps(state)[1:4])) == 0
    planned_on = _meta(bench, "plan-old")["state"]["serial"]
    assert planned_on is not None
    job = bench.job("apply-new", sha, apply_steps(state, "plan-new"), pipeline="terraform-apply")
    assert bench.run(job) == 0
    moved_to = json.loads(state.read_text())["serial"]
    applied = state.read_bytes()

    job = bench.job("apply-old", sha, apply_steps(state, "plan-old"), pipeline="terraform-apply")
    assert bench.run(job) == 1
    apply = bench.steps_of("apply-old")["apply"]
    assert apply["reason"] == (
        f"refusing to apply: the state moved since the plan (serial {planned_on} -> "
        f"{moved_to}, lineage same): re-plan the pull request"
    )
    assert bench.finished("apply-old")["failed_step"] == "apply"
    assert state.read_bytes() == applied  # nothing was applied

    # Re-planning does help: a fresh plan of the same commit applies.
    _cycle(bench, state, 9, sha)


def test_refusal_fires_when_the_state_was_replaced(bench):
    """Another lineage (a state recreated from scratch) is refused even at an equal serial."""
    state = bench.root / "state" / "default.tfstate"
    _cycle(bench, state, 1, bench.commit("terraform/null-ok"))
    sha = _release(bench, "two")
    assert bench.run(bench.job("plan-x", sha, plan_steps(state)[1:4])) == 0
    doc = json.loads(state.read_text())
    doc["lineage"] = "00000000-0000-0000-0000-000000000000"
    state.write_text(json.dumps(doc))
    job = bench.job("apply-x", sha, apply_steps(state, "plan-x"), pipeline="terraform-apply")
    assert bench.run(job) == 1
    reason = bench.steps_of("apply-x")["apply"]["reason"]
    assert reason.startswith("refusing to apply") and "lineage changed" in reason


def test_three_cycles_with_the_controllers_own_steps_and_local_state(bench):
    """The step lists the controller sends (``steps_for``), with local mode's own state file
    beside the events directory: plan → apply three times on one workspace."""
    config = GitOpsConfig.model_validate({"terraform": {"dir": "infra"}})
    shas = [
        bench.commit("terraform/null-ok", "infra"),
        _release_in(bench, "infra/main.tf", "two"),
        bench.write_and_commit("README.md", "docs only\n"),
    ]
    for number, sha in enumerate(shas, start=1):
        for pipeline, extra in (
            (Pipeline.TERRAFORM_PLAN, {"pr": number}),
            (Pipeline.TERRAFORM_APPLY, {"pr": number, "previous_run_id": f"plan-{number}"}),
        ):
            run_id = f"{'plan' if pipeline == Pipeline.TERRAFORM_PLAN else 'apply'}-{number}"
            steps = [(s.name, s.kind, s.params) for s in steps_for(pipeline, config)]
            job = bench.job(
                run_id, sha, steps, pipeline=pipeline.value, working_dir="infra", **extra
            )
            assert bench.run(job) == 0, (run_id, bench.steps_of(run_id))
        assert bench.steps_of(f"apply-{number}")["inventory"]["status"] == "succeeded"
    [state] = (bench.root / "state").rglob("*.tfstate")
    assert (
        _meta(bench, "plan-3")["state"]["serial"] == bench.finished("apply-2")["state_serial_after"]
    )
    assert (
        json.loads(state.read_text())["serial"] == bench.finished("apply-3")["state_serial_after"]
    )
