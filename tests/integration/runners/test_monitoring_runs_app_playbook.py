"""ansible-monitoring configures the monitoring host and then the app hosts (ansible/app.yml).

The runner executes the pipeline's own playbook step (``steps_for``) with the real
ansible-playbook of the project's Ansible environment and local mode's parameters (files under
a folder, no docker), against the inventory the runner builds from Terraform-shaped outputs.
Without app.yml the app hosts have no agents stack to be scraped and no ``maestrops`` network
for the application's compose file to join.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from chalicelib.jobs import Pipeline
from chalicelib.pipelines.config import GitOpsConfig
from chalicelib.pipelines.jobspec import _local_playbook
from chalicelib.pipelines.steps import steps_for

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[3]
OUTPUTS = {
    "domain": "example.com",
    "hosts": {
        "app": [{"name": "app-1", "instance_id": "i-0123", "public_ip": "203.0.113.10",
                 "private_ip": "10.0.1.10", "dns_name": "example.com"}],
        "monitoring": [{"name": "monitoring-1", "instance_id": "i-0456",
                        "public_ip": "203.0.113.11", "private_ip": "10.0.1.11",
                        "dns_name": "grafana.example.com"}],
    },
}  # fmt: skip
_RECAP = re.compile(r"^(?P<host>[\w.-]+)\s+:\s+ok=\d+\s+changed=(?P<changed>\d+)", re.MULTILINE)


def _commit_ansible(bench, skip: tuple[str, ...] = ()) -> str:
    """The project's own ansible/ folder committed to the bench repository."""
    ignore = shutil.ignore_patterns(".cache", "__pycache__", *skip)
    shutil.copytree(REPO_ROOT / "ansible", bench.repo / "ansible", ignore=ignore)
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["add", "-A"], [*ident, "commit", "-q", "-m", "ansible"]):
        subprocess.run(["git", "-C", str(bench.repo), *args], check=True)
    done = subprocess.run(["git", "-C", str(bench.repo), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return done.stdout.strip()


def _job(bench, run_id: str, sha: str, root: Path):
    if not (REPO_ROOT / ".venv-ansible" / "bin" / "ansible-playbook").exists():
        pytest.fail("the project's Ansible environment is missing: bash scripts/setup/ansible.sh")
    outputs = bench.root / "outputs.json"
    outputs.write_text(json.dumps(OUTPUTS))
    [step] = [
        s for s in steps_for(Pipeline.ANSIBLE_MONITORING, GitOpsConfig())
        if s.kind == "ansible_playbook"
    ]  # fmt: skip
    step = _local_playbook(step, str(root.parent))
    # One Grafana password for every run: a new one is a real change of the monitoring host.
    step.params["extra_vars"].update(maestrops_root=str(root), grafana_admin_password="pw-0123456")
    steps = [("inventory", "inventory", {"outputs_uri": outputs.as_uri()}),
             (step.name, step.kind, step.params)]  # fmt: skip
    return bench.job(run_id, sha, steps, pipeline="ansible-monitoring")


def _changed(bench, run_id: str) -> dict[str, int]:
    log = Path(bench.steps_of(run_id)["monitoring"]["artifacts"]["log:monitoring"][7:])
    counts: dict[str, int] = {}
    for match in _RECAP.finditer(log.read_text()):
        counts[match["host"]] = counts.get(match["host"], 0) + int(match["changed"])
    return counts


def test_monitoring_then_app_hosts_twice_on_the_same_state(bench):
    sha = _commit_ansible(bench)
    root = bench.root / "hosts" / "root"
    for attempt, run_id in enumerate(("mon-app-1", "mon-app-2")):
        assert bench.run(_job(bench, run_id, sha, root)) == 0, bench.steps_of(run_id)
        step = bench.steps_of(run_id)["monitoring"]
        assert step["status"] == "succeeded" and step["reason"] is None
        changed = _changed(bench, run_id)
        assert set(changed) == {"monitoring-1", "app-1"}  # both playbooks played
        if attempt == 0:
            assert changed["app-1"] > 0 and changed["monitoring-1"] > 0
        else:  # the same hosts again: nothing to change
            assert changed == {"monitoring-1": 0, "app-1": 0}

    # The app host's agents stack creates the network the application's compose file joins.
    base = yaml.safe_load((root / "agents" / "compose.d" / "base.yml").read_text())
    assert base["networks"]["default"]["name"] == "maestrops"
    app_compose = yaml.safe_load((REPO_ROOT / "app" / "docker-compose.yml").read_text())
    assert app_compose["networks"]["maestrops"] == {"external": True}
    assert (root / "app").is_dir()  # the compose deploy's folder
    # What the monitoring host scrapes on the app host is now served there.
    prometheus = (root / "monitoring" / "prometheus" / "prometheus.yml").read_text()
    assert "10.0.1.10:9100" in prometheus
    agents = "\n".join(p.read_text() for p in (root / "agents" / "compose.d").glob("*.yml"))
    assert "10.0.1.10:9100" in agents and "10.0.1.10:8082" in agents


def test_a_repository_without_app_playbook_still_gets_its_monitoring_host(bench):
    bench.commit("ansible", "ansible")  # site.yml, and no app.yml beside it
    out = bench.root / "out"
    out.mkdir()
    bench.write_and_commit(".gitops.yml", "ansible: {playbook: ansible/site.yml}\n")
    inventory = "[monitoring]\nmonitoring-1 instance_id=i-1 public_ip=p dns_name=d\n"
    sha = bench.write_and_commit("inventory.ini", inventory + "[all:vars]\ndomain=example.com\n")
    config = GitOpsConfig.model_validate({"ansible": {"playbook": "ansible/site.yml"}})
    [step] = [
        s for s in steps_for(Pipeline.ANSIBLE_MONITORING, config) if s.kind == "ansible_playbook"
    ]
    assert step.params["more_playbooks"] == ["ansible/app.yml"]
    params = {**step.params, "extra_vars": {"out_dir": str(out)}}
    job = bench.job(
        "mon-only", sha, [("monitoring", step.kind, params)], pipeline="ansible-monitoring"
    )
    assert bench.run(job) == 0, bench.steps_of("mon-only")
    assert bench.steps_of("mon-only")["monitoring"]["reason"] == (
        "not in the repository: ansible/app.yml"
    )
    assert (out / "monitoring-1.txt").read_text() == "i-1 p d example.com\n"
