"""Real Terraform 1.0.3 with the real null provider 2.1.2 through the executor."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.slow


def _path(uri: str) -> Path:
    return Path(urlparse(uri).path)


def plan_steps(state: Path) -> list[tuple[str, str, dict]]:
    return [
        ("fmt", "terraform_fmt", {}),
        ("init", "terraform_init", {"state_path": str(state)}),
        ("validate", "terraform_validate", {}),
        ("plan", "terraform_plan", {}),
        ("cost", "cost_estimate", {}),
    ]


def apply_steps(state: Path, plan_run_id: str | None = None) -> list[tuple[str, str, dict]]:
    params = {"plan_run_id": plan_run_id} if plan_run_id else {}
    return [
        ("init", "terraform_init", {"state_path": str(state)}),
        ("apply", "terraform_apply", params),
        ("output", "terraform_output", {}),
        ("inventory", "inventory", {}),
    ]


def test_plan_then_apply_of_the_reviewed_plan(bench):
    sha = bench.commit("terraform/null-ok")
    state = bench.root / "state" / "default.tfstate"

    assert bench.run(bench.job("plan-1", sha, plan_steps(state))) == 0
    steps = bench.steps_of("plan-1")
    assert [s["status"] for s in steps.values()] == ["succeeded"] * 5
    # No Infracost here: the built-in estimator priced the plan, and says why it was used.
    assert steps["cost"]["reason"].startswith("built-in estimate (")
    assert {"cost_report", "cost_policy", "cost_insights"} <= set(steps["cost"]["artifacts"])
    summary = json.loads(_path(steps["plan"]["artifacts"]["plan_summary"]).read_text())
    assert summary["counts"]["create"] == 1 and summary["has_changes"]
    assert [r["address"] for r in summary["resources"]["create"]] == ["null_resource.app"]
    assert steps["plan"]["reason"] == "1 to create"
    meta = json.loads(_path(steps["plan"]["artifacts"]["plan_meta"]).read_text())
    assert meta["sha"] == sha and meta["state"]["serial"] is None  # no state yet

    job = bench.job("apply-1", sha, apply_steps(state, "plan-1"), pipeline="terraform-apply")
    assert bench.run(job) == 0
    done = bench.finished("apply-1")
    assert done["status"] == "succeeded"
    assert done["outputs"]["domain"] == "example.com"
    assert done["state_serial_after"] is not None
    inventory = _path(done["artifacts"]["inventory"]).read_text()
    assert "monitoring-1 ansible_host=i-0456" in inventory
    heartbeats = [e for e in bench.events_of("apply-1") if "Heartbeat" in e["detail-type"]]
    # The announcement before the apply carries the serial the apply started from (none yet).
    assert any("state_serial_before" in e["detail"] for e in heartbeats)
    assert json.loads(state.read_text())["resources"][0]["type"] == "null_resource"


def test_events_are_numbered_and_complete(bench):
    sha = bench.commit("terraform/null-ok")
    job = bench.job("v-1", sha, [("init", "terraform_init", {"backend": False})])
    assert bench.run(job) == 0
    events = bench.events_of("v-1")
    assert [e["detail"]["sequence"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["detail-type"] == "MaestrOps Run Started"
    assert {e["source"] for e in events} == {"maestrops.runner"}
    result_uri = events[-1]["detail"]["artifacts"]["result:init"]
    assert json.loads(_path(result_uri).read_text())["status"] == "succeeded"
    assert not list((bench.events / "v-1").glob(".*.tmp"))


def test_broken_configuration_stops_at_validate(bench):
    sha = bench.commit("terraform/broken")
    steps = [
        ("init", "terraform_init", {"backend": False}),
        ("validate", "terraform_validate", {}),
        ("plan", "terraform_plan", {}),
    ]
    assert bench.run(bench.job("broken-1", sha, steps)) == 1
    done = bench.finished("broken-1")
    assert done["status"] == "failed" and done["failed_step"] == "validate"
    validate = bench.steps_of("broken-1")["validate"]
    assert validate["exit_code"] == 1
    assert "undeclared resource" in validate["log_tail"]
    assert "plan" not in bench.steps_of("broken-1")


def test_failing_apply_records_exit_code_and_serials(bench):
    sha = bench.commit("terraform/failing-apply")
    state = bench.root / "state" / "fail.tfstate"
    steps = [
        ("init", "terraform_init", {"state_path": str(state)}),
        ("plan", "terraform_plan", {}),
        ("apply", "terraform_apply", {}),
    ]
    assert bench.run(bench.job("fail-1", sha, steps, pipeline="terraform-apply")) == 1
    done = bench.finished("fail-1")
    assert done["failed_step"] == "apply"
    apply = bench.steps_of("fail-1")["apply"]
    assert apply["exit_code"] == 1
    assert "exit status 3" in apply["log_tail"]
    assert "state_serial_before" in done and "state_serial_after" in done


def test_unformatted_files_fail_fmt(bench):
    bench.commit("terraform/null-ok")
    text = (bench.repo / "main.tf").read_text().replace('default = "one"', 'default =    "one"')
    sha = bench.write_and_commit("main.tf", text)
    assert bench.run(bench.job("fmt-1", sha, [("fmt", "terraform_fmt", {})])) == 1
    fmt = bench.steps_of("fmt-1")["fmt"]
    assert fmt["exit_code"] == 3 and "terraform fmt" in fmt["reason"]


def test_apply_refuses_a_plan_for_another_sha(bench):
    sha = bench.commit("terraform/null-ok")
    state = bench.root / "state" / "s.tfstate"
    assert bench.run(bench.job("plan-a", sha, plan_steps(state)[1:4])) == 0
    newer = bench.write_and_commit("README.md", "newer\n")
    job = bench.job("apply-a", newer, apply_steps(state, "plan-a"), pipeline="terraform-apply")
    assert bench.run(job) == 1
    apply = bench.steps_of("apply-a")["apply"]
    assert apply["status"] == "failed"
    assert f"made for {sha[:12]}, not {newer[:12]}" in apply["reason"]
    assert not state.exists() or json.loads(state.read_text())["resources"] == []


def test_apply_refuses_a_plan_whose_state_moved(bench):
    sha = bench.commit("terraform/null-ok")
    state = bench.root / "state" / "s.tfstate"
    # Two plans reviewed against the same (empty) state; the second is applied first.
    assert bench.run(bench.job("plan-old", sha, plan_steps(state)[1:4])) == 0
    assert bench.run(bench.job("plan-new", sha, plan_steps(state)[1:4])) == 0
    steps = apply_steps(state, "plan-new")[:2]
    assert bench.run(bench.job("apply-new", sha, steps, pipeline="terraform-apply")) == 0
    serial = json.loads(state.read_text())["serial"]

    steps = apply_steps(state, "plan-old")[:2]
    assert bench.run(bench.job("apply-old", sha, steps, pipeline="terraform-apply")) == 1
    apply = bench.steps_of("apply-old")["apply"]
    assert apply["reason"].startswith("refusing to apply: the state moved since the plan")
    assert f"-> {serial}" in apply["reason"] and "re-plan" in apply["reason"]
    assert json.loads(state.read_text())["serial"] == serial  # nothing was applied


def test_unknown_sha_fails_the_checkout(bench):
    bench.commit("terraform/null-ok")
    job = bench.job("co-1", "f" * 40, [("init", "terraform_init", {"backend": False})])
    assert bench.run(job) == 1
    done = bench.finished("co-1")
    assert done["failed_step"] == "checkout" and done["reason"].startswith("git checkout failed")
    assert bench.steps_of("co-1") == {}
