"""The playbooks as a whole: syntax, ansible-lint (production), inventory, idempotence."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from ansible_harness import (
    ANSIBLE_DIR,
    INVENTORY,
    PLAYBOOKS,
    VENV_BIN,
    Rendering,
    ansible_env,
    run_molecule,
    run_playbooks,
)

pytestmark = pytest.mark.slow

# Files the common role writes on a real host; a check-mode run must leave them alone here.
SYSTEM_PATHS = (
    "/etc/docker/daemon.json",
    "/etc/logrotate.d/maestrops",
    "/etc/chrony/chrony.conf",
    "/var/log/maestrops",
    "/etc/apt/sources.list.d/docker.sources",
)


def _snapshot(paths: tuple[str, ...]) -> dict[str, float | None]:
    return {p: (Path(p).stat().st_mtime if Path(p).exists() else None) for p in paths}


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_syntax_check(toolchain: Path, tmp_path: Path, playbook: str) -> None:
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "-i", str(INVENTORY), "--syntax-check", playbook],
        cwd=ANSIBLE_DIR,
        env=ansible_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_terraform_inventory_groups_and_vars(toolchain: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(VENV_BIN / "ansible-inventory"), "-i", str(INVENTORY), "--list"],
        cwd=ANSIBLE_DIR,
        env=ansible_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    inventory = json.loads(proc.stdout)
    assert inventory["app"]["hosts"] == ["app-1"]
    assert inventory["monitoring"]["hosts"] == ["monitoring-1"]
    app = inventory["_meta"]["hostvars"]["app-1"]
    assert app["instance_id"] == app["ansible_host"] == "i-0123"
    assert app["private_ip"] == "10.0.1.10"
    assert app["domain"] == "example.com"
    # The connection is the caller's choice, never baked into the inventory.
    assert "ansible_connection" not in app


def test_sample_inventory_is_the_terraform_contract() -> None:
    assert (ANSIBLE_DIR / "inventory.sample.ini").read_text() == INVENTORY.read_text()


def test_rendering_writes_every_file_once(rendering: Rendering) -> None:
    assert rendering.run.total("failed") == 0
    assert rendering.run.total("changed") > 0
    assert set(rendering.run.recap) == {"monitoring-1", "app-1"}


def test_second_run_changes_nothing(rendering: Rendering) -> None:
    """molecule idempotence: converge again, and fail on any changed task."""
    again = run_molecule(rendering.env, "idempotence", rendering.root, rendering.molecule_state)
    assert again.returncode == 0, again.output[-4000:]
    assert again.total("changed") == 0, again.output[-4000:]
    assert again.total("ok") == rendering.run.total("ok")


def test_system_part_in_check_mode_touches_nothing(rendering: Rendering, tmp_path: Path) -> None:
    """The common role (packages, Docker, chrony, logrotate) would install services: check mode.

    `network` tasks fetch from the internet (Docker's signing key) even in check mode: skipped.
    Both playbooks start with the same common role; app.yml alone covers it.
    """
    before = _snapshot(SYSTEM_PATHS)
    run = run_playbooks(
        rendering.env,
        "--check",
        "--diff",
        "--tags",
        "system",
        "--skip-tags",
        "network",
        "-e",
        f"maestrops_root={tmp_path}",
        playbooks=("app.yml",),
    )
    assert run.returncode == 0, run.output[-4000:]
    assert run.total("failed") == 0
    # Would install packages and write the daemon/chrony/logrotate configuration.
    assert run.total("changed") >= 4, run.output[-4000:]
    # The diffs show what a host would get: container log rotation, Amazon Time Sync, logrotate.
    assert '"max-size": "10m"' in run.output
    assert "server 169.254.169.123 prefer iburst" in run.output
    assert "/var/log/maestrops/*.log {" in run.output
    assert _snapshot(SYSTEM_PATHS) == before


# Last in the module: ansible-lint started with the rendering and ran beside the playbooks.
def test_ansible_lint_production_profile(background_lint: subprocess.Popen[str]) -> None:
    output, _ = background_lint.communicate(timeout=300)
    assert background_lint.returncode == 0, output
    assert "Profile 'production' was required, and it passed" in output
