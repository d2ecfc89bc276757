"""Proof over everything: every secret a canary, the seed's whole flow in local mode plus a
hostile PR, then every byte the system wrote scanned for each canary in clear, base64 (every
alignment), hex and URL-encoded forms. Zero hits, except each secret's own store.

One flow run (module fixture) serves every scan. What is scanned: the whole data dir (the
SQLite stores, artifacts, outbox comments, statuses and reactions, runner events, job files
and runner logs, the hosts' files the playbook wrote, the registry's blobs), the runs API's
answers, and the controller's own output.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.security.tree import find_secrets

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parents[3]

SECRET_NAMES = [
    "MAESTRO_WEBHOOK_SECRET",
    "MAESTRO_API_TOKEN",
    "MAESTRO_GIT_TOKEN",
    "GITHUB_TOKEN",
    "MAESTRO_GITHUB_APP_PRIVATE_KEY",
    "MAESTRO_REGISTRY_PASSWORD",
    "INFRACOST_API_KEY",
    "GRAFANA_ADMIN_PASSWORD",
    "POSTGRES_PASSWORD",  # the application's .env
    "SECRET_KEY",  # the application's .env
]
PROBE = f"visible-probe-{secrets.token_hex(12)}"
# Where a secret is meant to be kept: hits there are the store, not a leak.
OWN_STORES = {
    "MAESTRO_WEBHOOK_SECRET": ("secrets.json",),
    "MAESTRO_API_TOKEN": ("secrets.json",),
    # Terraform keeps what it plans and applies: the state and the private plan artifacts.
    "TF_VAR_db_password": (".tfstate", "plan.tfplan", "plan.json"),
}


def canaries() -> dict[str, str]:
    values = {name: f"canary-{name.lower()}-{secrets.token_hex(12)}" for name in SECRET_NAMES}
    values["TF_VAR_db_password"] = f"canary-tf-sensitive-{secrets.token_hex(12)}"
    return values


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], str]:
    data_dir = tmp_path_factory.mktemp("canaries")
    secret = canaries()
    env = {**os.environ, **secret, "MAESTRO_DEMO_STACK": "null", "PYTHONPATH": str(REPO_ROOT)}
    env["TF_VAR_visible_probe"] = PROBE  # allow-listed, not secret: the exfiltration works
    done = subprocess.run(
        [sys.executable, "-m", "tests.integration.security.canary_flow", str(data_dir)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    output = done.stdout + done.stderr
    (data_dir / "controller-output.log").write_text(output)
    assert done.returncode == 0, output[-4000:]
    return data_dir, secret, output


def runs(data_dir: Path) -> list[dict]:
    return json.loads((data_dir / "runs.json").read_text())


def leaks(data_dir: Path, secret: dict[str, str]) -> list[str]:
    hits = find_secrets(data_dir, secret)
    return [
        hit
        for hit in hits
        if not any(store in hit.split(":")[0] for store in OWN_STORES.get(_name(hit), ()))
    ]


def _name(hit: str) -> str:
    return hit.rsplit(": ", 1)[1].split(" (")[0]


def test_the_flow_ran_and_the_hostile_plan_read_its_environment(flow) -> None:
    data_dir, _, _ = flow
    by_pipeline: dict[str, list[dict]] = {}
    for run in runs(data_dir):
        by_pipeline.setdefault(run["pipeline"], []).append(run)
    assert {run["status"] for run in by_pipeline["terraform-apply"]} == {"succeeded"}
    plans = {run["pr"]: run for run in by_pipeline["terraform-plan"]}
    assert plans[1]["status"] == "succeeded" and plans[3]["status"] == "succeeded"
    raw = Path(plans[3]["artifacts"]["plan_json"].removeprefix("file://")).read_text()
    assert "null_resource.keys" in raw and len(raw) > 20_000  # the environment, chunked in keys
    comments = data_dir / "outbox" / "maestrops" / "demo" / "comments"
    assert "null_resource.keys" in (comments / "3-terraform-plan.md").read_text()
    # What the hostile plan could read, it published: the probe, base64-encoded in its plan.
    plan_dir = f"artifacts/runs/{plans[3]['id']}/plan.json"
    assert any(hit.startswith(plan_dir) for hit in find_secrets(data_dir, {"probe": PROBE}))


def test_the_pages_and_logs_served_are_scanned(flow) -> None:
    """The run pages and step logs a signed-in user is served are in the scan, and they show
    what the hostile plan published: had a canary reached them, the scan would see it."""
    data_dir, _, _ = flow
    served = data_dir / "served"
    names = {path.name for path in served.iterdir()}
    assert {"ui-runs.html", "ui-locks.html", "ui-costs.html"} <= names
    assert any(name.startswith("ui-step-") for name in names)
    assert any(name.startswith("logs-") and name.count("-") > 1 for name in names)
    hits = find_secrets(served, {"probe": PROBE})
    assert any(hit.startswith("ui-step-") for hit in hits), hits
    assert any(hit.startswith("logs-") for hit in hits), hits


def test_the_scan_sees_a_secret_where_it_is_kept(flow) -> None:
    data_dir, secret, _ = flow
    hits = find_secrets(data_dir, secret)
    assert any("secrets.json" in hit and "MAESTRO_WEBHOOK_SECRET" in hit for hit in hits)
    assert any(".tfstate" in hit and "TF_VAR_db_password" in hit for hit in hits)


def test_no_canary_anywhere_but_its_own_store(flow) -> None:
    data_dir, secret, _ = flow
    assert leaks(data_dir, secret) == []


def test_the_local_grafana_password_stays_in_its_job_and_its_host_file(flow) -> None:
    data_dir, _, _ = flow
    [monitoring] = [run for run in runs(data_dir) if run["pipeline"] == "ansible-monitoring"]
    job = json.loads((data_dir / "jobs" / f"{monitoring['id']}.json").read_text())
    [step] = [s for s in job["steps"] if s["kind"] == "ansible_playbook"]
    password = step["params"]["extra_vars"]["grafana_admin_password"]
    hits = find_secrets(data_dir, {"grafana": password})
    kept = [hit for hit in hits if not hit.startswith((f"jobs/{monitoring['id']}.json", "hosts/"))]
    assert hits and kept == []
