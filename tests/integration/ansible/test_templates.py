"""Rendered templates against golden files, the compose files, and the secrets' handling."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml
from ansible_harness import FIXTURES, HOSTS, Rendering, host_vars

pytestmark = pytest.mark.slow

EXPECTED = FIXTURES / "expected"
# Files whose content is fully decided by the inventory and the defaults.
GOLDEN = {
    "monitoring-1": [
        "prometheus/prometheus.yml",
        "prometheus/rules/alerts.yml",
        "traefik/traefik.yml",
        "traefik/dynamic/routes.yml",
        "grafana/provisioning/datasources/maestrops.yml",
        "loki/loki.yml",
        "promtail/promtail.yml",
        "compose.d/base.yml",
        "compose.d/grafana.yml",
    ],
    "app-1": [
        "traefik/traefik.yml",
        "traefik/dynamic/routes.yml",
        "promtail/promtail.yml",
        "compose.d/base.yml",
        "compose.d/traefik.yml",
        "compose.d/cadvisor.yml",
    ],
}
SERVICES = {
    "monitoring-1": {
        "traefik", "prometheus", "grafana", "loki", "promtail", "node-exporter", "cadvisor",
    },
    "app-1": {"traefik", "promtail", "node-exporter", "cadvisor"},
}  # fmt: skip


def _normalized(rendering: Rendering, host: str, relative: str) -> str:
    # The run's temporary root stands where a host has /opt/maestrops.
    return (
        (rendering.stack(host) / relative)
        .read_text()
        .replace(str(rendering.root), "/opt/maestrops")
    )


@pytest.mark.parametrize(
    ("host", "relative"), [(h, r) for h, files in GOLDEN.items() for r in files]
)
def test_rendered_file_matches_golden(rendering: Rendering, host: str, relative: str) -> None:
    golden = EXPECTED / host / relative
    rendered = _normalized(rendering, host, relative)
    if os.environ.get("MAESTROPS_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(rendered)
    assert rendered == golden.read_text()


def _compose(rendering: Rendering, host: str) -> dict:
    """compose.d/*.yml merged the way `docker compose -f ... -f ...` merges services."""
    merged: dict = {"services": {}, "volumes": {}}
    for path in sorted((rendering.stack(host) / "compose.d").glob("*.yml")):
        data = yaml.safe_load(path.read_text())
        merged["services"].update(data.get("services", {}))
        merged["volumes"].update(data.get("volumes", {}))
    return merged


@pytest.mark.parametrize("host", HOSTS)
def test_compose_services_are_pinned_and_complete(rendering: Rendering, host: str) -> None:
    services = _compose(rendering, host)["services"]
    assert set(services) == SERVICES[host]
    for name, service in services.items():
        image = service["image"]
        assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), name
        assert service["restart"] == "unless-stopped"


@pytest.mark.parametrize("host", HOSTS)
def test_compose_bind_mounts_of_the_stack_exist(rendering: Rendering, host: str) -> None:
    stack = rendering.stack(host)
    compose = _compose(rendering, host)
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("/"):
                if Path(source).is_relative_to(rendering.root):
                    assert Path(source).exists(), f"{source} is mounted but not written"
                    assert Path(source).is_relative_to(stack)
            else:
                assert source in compose["volumes"], f"named volume {source} is not declared"
        for env_file in service.get("env_file", []):
            assert Path(env_file).exists()


def test_grafana_password_comes_from_ssm_and_stays_private(rendering: Rendering) -> None:
    env_file = rendering.stack("monitoring-1") / "grafana" / "grafana.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    lines = env_file.read_text().splitlines()
    assert f"GF_SECURITY_ADMIN_PASSWORD={rendering.grafana_password}" in lines
    assert "GF_SERVER_ROOT_URL=https://grafana.example.com/" in lines
    # no_log: the value never reaches the run's output (what the runner uploads as a log).
    assert rendering.grafana_password not in rendering.run.output


def test_no_secret_in_the_repository(rendering: Rendering) -> None:
    ansible_dir = Path(__file__).resolve().parents[3] / "ansible"
    for path in ansible_dir.rglob("*"):
        if path.is_file():
            assert rendering.grafana_password not in path.read_text(errors="ignore")
    defaults = yaml.safe_load((ansible_dir / "roles/grafana/defaults/main.yml").read_text())
    assert "amazon.aws.ssm_parameter" in defaults["grafana_admin_password"]


def test_app_layout_is_private(rendering: Rendering) -> None:
    app = rendering.root / "app"
    assert stat.S_IMODE(app.stat().st_mode) == 0o750
    assert (app / "data").is_dir()


def test_compose_up_merges_every_written_file(rendering: Rendering) -> None:
    """docker compose -f ... gets exactly the files the component roles wrote, base first."""
    files = host_vars(rendering.env, "maestrops_compose_files")
    for host in HOSTS:
        written = {p.name for p in (rendering.stack(host) / "compose.d").glob("*.yml")}
        assert files[host][0] == "compose.d/base.yml"
        assert sorted(Path(f).name for f in files[host]) == sorted(written)


def test_prometheus_route_is_opt_in_and_vpc_only(rendering: Rendering) -> None:
    default = host_vars(rendering.env, "traefik_routes")["monitoring-1"]
    assert [r["host"] for r in default] == ["grafana.example.com"]
    public = host_vars(rendering.env, "traefik_routes", "-e", "prometheus_public=true")
    prometheus = public["monitoring-1"][1]
    assert prometheus["host"] == "prometheus.example.com"
    assert prometheus["allow_from"] == ["10.0.0.0/8"]
