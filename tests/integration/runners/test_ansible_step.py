"""Terraform outputs -> inventory.ini -> real ansible-playbook (local connection)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest

from runners.tools import find_tool

pytestmark = pytest.mark.slow


def steps(state: Path, playbook: str, out_dir: Path) -> list[tuple[str, str, dict]]:
    return [
        ("init", "terraform_init", {"state_path": str(state)}),
        ("plan", "terraform_plan", {}),
        ("apply", "terraform_apply", {}),
        ("output", "terraform_output", {}),
        ("inventory", "inventory", {}),
        (
            "monitoring",
            "ansible_playbook",
            {"playbook": playbook, "extra_vars": {"out_dir": str(out_dir)}},
        ),
    ]


def test_playbook_runs_against_the_generated_inventory(bench):
    bench.commit("terraform/null-ok")
    sha = bench.commit("ansible", "ansible")
    out = bench.root / "out"
    out.mkdir()
    job = bench.job(
        "mon-1", sha, steps(bench.root / "s.tfstate", "ansible/site.yml", out),
        pipeline="ansible-monitoring",
    )  # fmt: skip
    assert bench.run(job) == 0, bench.steps_of("mon-1")
    # The play saw the inventory's variables for the monitoring host only.
    assert (out / "monitoring-1.txt").read_text() == (
        "i-0456 203.0.113.11 grafana.example.com example.com\n"
    )
    assert not (out / "app-1.txt").exists()

    inventory = Path(urlparse(bench.finished("mon-1")["artifacts"]["inventory"]).path)
    listed = subprocess.run(
        [find_tool("ansible-inventory"), "-i", str(inventory), "--list"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    parsed = json.loads(listed.stdout)
    assert parsed["app"]["hosts"] == ["app-1"]
    assert parsed["monitoring"]["hosts"] == ["monitoring-1"]
    app = parsed["_meta"]["hostvars"]["app-1"]
    assert app["ansible_host"] == "i-0123" and app["public_ip"] == "203.0.113.10"
    assert app["domain"] == "example.com"


def test_failing_playbook_fails_the_step(bench):
    sha = bench.commit("ansible", "ansible")
    # The outputs of an earlier apply, as the inventory step reads them from its artifact.
    outputs = bench.root / "outputs.json"
    outputs.write_text(json.dumps({"hosts": {"app": [{"name": "app-1", "instance_id": "i-1"}]}}))
    job = bench.job(
        "mon-2", sha,
        [("inventory", "inventory", {"outputs_uri": outputs.as_uri()}),
         ("monitoring", "ansible_playbook", {"playbook": "ansible/failing.yml"})],
        pipeline="ansible-monitoring",
    )  # fmt: skip
    assert bench.run(job) == 1
    step = bench.steps_of("mon-2")["monitoring"]
    assert step["status"] == "failed" and step["exit_code"] == 2
    assert "failing on purpose" in step["log_tail"]
