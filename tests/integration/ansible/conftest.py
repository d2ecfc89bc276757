"""Shared fixtures for the ansible/ tests: the toolchain, a moto SSM server, one rendering.

Everything runs the real tools from ``.venv-ansible`` (scripts/setup/ansible.sh installs them)
against localhost with the local connection. The rendering writes every configuration file of
both playbooks under a temporary ``maestrops_root`` and never calls docker
(``maestrops_compose_up=false``); the tests then check those files with promtool, Traefik
and the documented structure of the others.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

# --import-mode=importlib: make the sibling helper module importable by the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ansible_harness import (
    ANSIBLE_DIR,
    GRAFANA,
    GRAFANA_PARAMETER,
    NODE_EXPORTER,
    PROMTOOL,
    REPO,
    VENV_BIN,
    Rendering,
    TraefikRun,
    ansible_env,
    free_port,
    run_molecule,
    start_traefik,
    wait_http,
)


@pytest.fixture(scope="session")
def toolchain() -> Path:
    missing = [
        str(p)
        for p in (VENV_BIN / "ansible-playbook", VENV_BIN / "traefik", PROMTOOL, NODE_EXPORTER)
        if not p.exists()
    ]
    if missing:
        pytest.fail(f"missing {missing}: run `bash scripts/setup/ansible.sh` (make setup)")
    return VENV_BIN


@pytest.fixture(scope="session")
def ssm_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server on loopback standing in for SSM Parameter Store."""
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
    proc = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/moto-api/")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def background_lint(
    toolchain: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[str]]:
    """ansible-lint (ansible/.ansible-lint: production profile, offline), started early so that
    it runs beside the playbook runs."""
    proc = subprocess.Popen(
        [str(VENV_BIN / "ansible-lint"), "--nocolor", "--profile", "production"],
        cwd=ANSIBLE_DIR,
        env=ansible_env(tmp_path_factory.mktemp("lint")),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


@pytest.fixture(scope="session")
def rendering(
    toolchain: Path,
    ssm_endpoint: str,
    background_lint: subprocess.Popen[str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Rendering:
    """Both playbooks' configuration, rendered once; Grafana's password comes from SSM."""
    password = secrets.token_urlsafe(18)
    ssm = boto3.client(
        "ssm",
        endpoint_url=ssm_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    ssm.put_parameter(Name=GRAFANA_PARAMETER, Value=password, Type="SecureString")
    base = tmp_path_factory.mktemp("render")
    env = ansible_env(base / "home", {"AWS_ENDPOINT_URL": ssm_endpoint})
    root = base / "opt-maestrops"
    state = base / "molecule"
    run = run_molecule(env, "converge", root, state)
    assert run.returncode == 0, run.output[-4000:]
    return Rendering(root, run, env, password, state)


def _traefik(rendering: Rendering, host: str, workdir: Path, ready: tuple) -> TraefikRun:
    static = rendering.load(host, "traefik/traefik.yml")
    dynamic = rendering.load(host, "traefik/dynamic/routes.yml")
    return start_traefik(static, dynamic, workdir, ready)


@pytest.fixture(scope="session")
def traefik_monitoring(
    rendering: Rendering, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TraefikRun]:
    """The real Traefik binary with the monitoring host's rendered configuration."""
    workdir = tmp_path_factory.mktemp("traefik-mon")
    run = _traefik(rendering, "monitoring-1", workdir, ("websecure", GRAFANA, "/"))
    yield run
    run.stop()


@pytest.fixture(scope="session")
def traefik_app(
    rendering: Rendering, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TraefikRun]:
    """The real Traefik binary with an app host's rendered configuration."""
    workdir = tmp_path_factory.mktemp("traefik-app")
    run = _traefik(rendering, "app-1", workdir, ("internal", "10.0.1.10", "/backend/metrics"))
    yield run
    run.stop()


@pytest.fixture(scope="session")
def traefik_metrics(traefik_monitoring: TraefikRun) -> str:
    """Traefik's own /metrics after one routed request (vectors appear once observed)."""
    assert traefik_monitoring.get("websecure", GRAFANA)[0] == 200
    status, _, body = traefik_monitoring.get("internal", "10.0.1.11", "/metrics")
    assert status == 200
    return body


@pytest.fixture(scope="session")
def node_exporter_metrics() -> Iterator[str]:
    """The real node-exporter's /metrics (Debian's prometheus-node-exporter, on loopback)."""
    port = free_port()
    proc = subprocess.Popen(
        [str(NODE_EXPORTER), f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        wait_http(url)
        with urllib.request.urlopen(url, timeout=10) as response:
            yield response.read().decode()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
