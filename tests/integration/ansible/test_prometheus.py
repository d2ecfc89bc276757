"""The rendered Prometheus configuration: promtool, alert unit tests, scrape coverage."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from ansible_harness import FIXTURES, INVENTORY, PROMTOOL, Rendering

pytestmark = pytest.mark.slow

PRIVATE_IPS = {"app-1": "10.0.1.10", "monitoring-1": "10.0.1.11"}
GROUPS = {"app-1": "app", "monitoring-1": "monitoring"}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PROMTOOL), *args], capture_output=True, text=True, timeout=60)


def jobs(rendering: Rendering) -> dict[str, dict]:
    config = rendering.load("monitoring-1", "prometheus/prometheus.yml")
    return {job["job_name"]: job for job in config["scrape_configs"]}


def targets(job: dict) -> dict[str, dict[str, str]]:
    """target -> labels, over the job's static_configs."""
    return {t: sc["labels"] for sc in job["static_configs"] for t in sc["targets"]}


def test_promtool_check_config(rendering: Rendering) -> None:
    config = rendering.stack("monitoring-1") / "prometheus" / "prometheus.yml"
    done = promtool("check", "config", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    # The rule files are found through the relative glob and checked with the config.
    assert "rules/alerts.yml" in done.stdout
    assert "SUCCESS: 5 rules found" in done.stdout


def test_promtool_check_rules(rendering: Rendering) -> None:
    rules = rendering.stack("monitoring-1") / "prometheus" / "rules" / "alerts.yml"
    done = promtool("check", "rules", str(rules))
    assert done.returncode == 0, done.stdout + done.stderr


def test_alerts_fire_as_specified(rendering: Rendering, tmp_path: Path) -> None:
    spec = yaml.safe_load((FIXTURES / "alerts_test.yml").read_text())
    spec["rule_files"] = [str(rendering.stack("monitoring-1") / "prometheus/rules/alerts.yml")]
    test_file = tmp_path / "alerts_test.yml"
    test_file.write_text(yaml.safe_dump(spec))
    done = promtool("test", "rules", str(test_file))
    assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_rejects_a_broken_rule(rendering: Rendering, tmp_path: Path) -> None:
    """The check above can fail: the same file with a typo in a query does not pass."""
    rules = rendering.stack("monitoring-1") / "prometheus/rules/alerts.yml"
    broken = tmp_path / "alerts.yml"
    broken.write_text(rules.read_text().replace("up == 0", "up == == 0"))
    assert promtool("check", "rules", str(broken)).returncode != 0


@pytest.mark.parametrize(
    ("job", "port"), [("node-exporter", 9100), ("cadvisor", 8080), ("traefik", 8082)]
)
def test_agents_scraped_on_every_inventory_host(rendering: Rendering, job: str, port: int) -> None:
    found = targets(jobs(rendering)[job])
    assert found == {
        f"{ip}:{port}": {"host": host, "group": GROUPS[host]} for host, ip in PRIVATE_IPS.items()
    }
    assert "app-1" in INVENTORY.read_text()


def test_backend_metrics_scraped_through_traefik_on_app_hosts(rendering: Rendering) -> None:
    backend = jobs(rendering)["backend"]
    assert backend["metrics_path"] == "/backend/metrics"
    assert targets(backend) == {"10.0.1.10:8082": {"host": "app-1", "group": "app"}}


def test_scrape_ports_match_what_the_agents_publish(rendering: Rendering) -> None:
    """Prometheus' ports are its own defaults; the agents' compose files must agree."""
    for host, ip in PRIVATE_IPS.items():
        compose = rendering.stack(host) / "compose.d"
        node = yaml.safe_load((compose / "node_exporter.yml").read_text())
        assert f"--web.listen-address={ip}:9100" in node["services"]["node-exporter"]["command"]
        cadvisor = yaml.safe_load((compose / "cadvisor.yml").read_text())
        assert f"{ip}:8080:8080" in cadvisor["services"]["cadvisor"]["ports"]
        traefik = yaml.safe_load((compose / "traefik.yml").read_text())
        assert f"{ip}:8082:8082" in traefik["services"]["traefik"]["ports"]
