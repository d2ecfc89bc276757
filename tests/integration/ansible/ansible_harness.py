"""Helpers of the ansible/ tests: paths, running ansible-playbook, reading the recap."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
ANSIBLE_DIR = REPO / "ansible"
VENV_BIN = REPO / ".venv-ansible" / "bin"
FIXTURES = REPO / "tests" / "fixtures" / "ansible"
INVENTORY = FIXTURES / "inventory.ini"
PLAYBOOKS = ("monitoring.yml", "app.yml")
HOSTS = {"monitoring-1": "monitoring", "app-1": "agents"}  # host -> stack folder
GRAFANA_PARAMETER = "/maestrops/grafana/admin-password"
PROMTOOL = Path("/usr/bin/promtool")
NODE_EXPORTER = Path("/usr/bin/prometheus-node-exporter")

_RECAP = re.compile(r"^(?P<host>\S+)\s+:\s+(?P<counts>(?:\w+=\d+\s*)+)$", re.MULTILINE)


@dataclass(frozen=True)
class PlaybookRun:
    returncode: int
    output: str
    recap: dict[str, dict[str, int]]

    def total(self, key: str) -> int:
        return sum(counts[key] for counts in self.recap.values())


@dataclass(frozen=True)
class Rendering:
    root: Path  # the maestrops_root of the run
    run: PlaybookRun
    env: dict[str, str]
    grafana_password: str

    def stack(self, host: str) -> Path:
        return self.root / HOSTS[host]

    def load(self, host: str, relative: str) -> dict:
        return yaml.safe_load((self.stack(host) / relative).read_text())


def parse_recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP lines -> {host: {ok: n, changed: n, ...}}, summed over plays."""
    recap: dict[str, dict[str, int]] = {}
    for match in _RECAP.finditer(output):
        counts = recap.setdefault(match["host"], {})
        for pair in match["counts"].split():
            key, value = pair.split("=")
            counts[key] = counts.get(key, 0) + int(value)
    return recap


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def ansible_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "AWS_"))}
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_CONFIG=str(ANSIBLE_DIR / "ansible.cfg"),
        ANSIBLE_HOME=str(home),
        ANSIBLE_LOCAL_TEMP=str(home / "tmp"),
        ANSIBLE_NOCOLOR="1",
        # Never reach a real AWS endpoint: no credentials unless a test points at moto.
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
    )
    env.update(extra or {})
    return env


def _playbook_command(playbook: str, args: tuple[str, ...]) -> list[str]:
    return [
        str(VENV_BIN / "ansible-playbook"),
        "-i",
        str(INVENTORY),
        playbook,
        "-e",
        "ansible_connection=local",
        # Already root; the hosts reached through SSM need become, this machine has no sudo.
        "-e",
        "ansible_become=false",
        *args,
    ]


def run_playbooks(env: dict[str, str], *args: str, playbooks=PLAYBOOKS) -> PlaybookRun:
    """ansible-playbook on localhost with the Terraform-shaped inventory of the fixtures.

    One process per playbook, side by side: their hosts are disjoint, and the run takes the
    time of the slower one instead of the sum.
    """
    procs = [
        subprocess.Popen(
            _playbook_command(playbook, args),
            cwd=ANSIBLE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for playbook in playbooks
    ]
    outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    output = "\n".join(outputs)
    returncode = max(proc.returncode for proc in procs)
    return PlaybookRun(returncode, output, parse_recap(output))


def config_args(root: Path) -> list[str]:
    """The configuration-only run: files under root, docker never called."""
    return ["--tags", "config", "-e", f"maestrops_root={root}", "-e", "maestrops_compose_up=false"]
