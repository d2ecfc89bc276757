"""Grafana provisioning: fixed datasource uids, and dashboards whose queries use only series and
labels that the scrape configuration (Prometheus) or Promtail (Loki) produces."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from ansible_harness import ANSIBLE_DIR, FIXTURES, Rendering

pytestmark = pytest.mark.slow

DASHBOARDS = ANSIBLE_DIR / "roles" / "grafana" / "files" / "dashboards"
DASHBOARD_FILES = sorted(DASHBOARDS.glob("*.json"))

_SAMPLE = re.compile(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s", re.MULTILINE)
_MATCHER = re.compile(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*\"")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_SELECTOR = re.compile(r"([a-zA-Z_:][\w:]*)?\s*\{([^}]*)\}")
_IDENT = re.compile(r"(?<![\w$.\"])([a-zA-Z_:][\w:]*)\b(?!\s*\()")
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
             "or", "unless", "offset"}  # fmt: skip


def exposition_labels(text: str) -> dict[str, set[str]]:
    """Prometheus text format -> {series name: label names seen on it}."""
    series: dict[str, set[str]] = {}
    for name, labels in _SAMPLE.findall(text):
        series.setdefault(name, set()).update(re.findall(r"(\w+)=\"", labels or ""))
    return series


def promql_parts(expr: str) -> tuple[dict[str, set[str]], set[str]]:
    """({metric: label names in its selector}, labels used in by/on/... groupings)."""
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range and subquery durations
    metrics: dict[str, set[str]] = {}
    for name, body in _SELECTOR.findall(expr):
        metrics.setdefault(name, set()).update(_MATCHER.findall(body))
    grouping = {label.strip() for group in _GROUPING.findall(expr) for label in group.split(",")}
    bare = _GROUPING.sub(" ", _SELECTOR.sub(lambda m: f" {m.group(1) or ''} ", expr))
    bare = re.sub(r"\"[^\"]*\"", " ", bare)
    for name in _IDENT.findall(bare):
        if name not in _KEYWORDS and not re.fullmatch(r"\d.*|[eE]\d*", name):
            metrics.setdefault(name, set())
    metrics.pop("", None)
    return metrics, grouping - {""}


def test_promql_parts_reads_selectors_groupings_and_bare_names() -> None:
    metrics, grouping = promql_parts(
        'sum by (host, le) (rate(a_bucket{host=~"$host", code!="5.."}[5m])) / b_total > 3'
    )
    assert metrics == {"a_bucket": {"host", "code"}, "b_total": set()}
    assert grouping == {"host", "le"}


@pytest.fixture(scope="module")
def catalog(rendering: Rendering, node_exporter_metrics: str, traefik_metrics: str):
    """Series -> label names, as Prometheus stores them from our scrape configuration."""
    series: dict[str, set[str]] = {}
    for text in (
        node_exporter_metrics,
        traefik_metrics,
        (FIXTURES / "cadvisor_metrics.prom").read_text(),
    ):
        for name, labels in exposition_labels(text).items():
            series.setdefault(name, set()).update(labels)
    config = rendering.load("monitoring-1", "prometheus/prometheus.yml")
    target_labels = {"job", "instance"} | {
        label
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for label in static.get("labels", {})
    }
    series["up"] = set()  # written by Prometheus itself for every target
    return {name: labels | target_labels for name, labels in series.items()}


@pytest.fixture(scope="module")
def datasource_uids(rendering: Rendering) -> dict[str, str]:
    provisioned = rendering.load("monitoring-1", "grafana/provisioning/datasources/maestrops.yml")
    return {ds["uid"]: ds["type"] for ds in provisioned["datasources"]}


@pytest.fixture(scope="module")
def loki_labels(rendering: Rendering) -> dict[str, set[str]]:
    """Label -> values Promtail attaches ('*' where the value comes from the log source)."""
    config = rendering.load("app-1", "promtail/promtail.yml")
    labels: dict[str, set[str]] = {"filename": {"*"}}
    for client in config["clients"]:
        for key in client["external_labels"]:
            labels.setdefault(key, set()).add("*")
    for job in config["scrape_configs"]:
        static = [sc.get("labels", {}) for sc in job.get("static_configs", [])]
        for source in [job.get("journal", {}).get("labels", {}), *static]:
            for key, value in source.items():
                if not key.startswith("__"):
                    labels.setdefault(key, set()).add(value)
        for relabel in job.get("relabel_configs", []):
            value = relabel.get("replacement", "*") if "source_labels" not in relabel else "*"
            labels.setdefault(relabel["target_label"], set()).add(value)
    return labels


def panels(dashboard: dict) -> list[dict]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def test_datasources_have_fixed_uids(datasource_uids: dict[str, str]) -> None:
    assert datasource_uids == {"prometheus": "prometheus", "loki": "loki"}


def test_every_dashboard_is_there() -> None:
    assert [p.stem for p in DASHBOARD_FILES] == ["containers", "hosts", "logs", "traefik"]


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.stem)
def test_dashboard_is_copied_as_provisioned(rendering: Rendering, path: Path) -> None:
    copied = rendering.stack("monitoring-1") / "grafana" / "dashboards" / path.name
    assert copied.read_bytes() == path.read_bytes()
    provider = rendering.load("monitoring-1", "grafana/provisioning/dashboards/maestrops.yml")
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.stem)
def test_panels_refer_to_provisioned_datasources(path: Path, datasource_uids) -> None:
    dashboard = json.loads(path.read_text())
    refs = [p["datasource"] for p in panels(dashboard)]
    refs += [t["datasource"] for p in panels(dashboard) for t in p["targets"]]
    refs += [v["datasource"] for v in dashboard["templating"]["list"]]
    assert refs
    for ref in refs:
        assert datasource_uids.get(ref["uid"]) == ref["type"], ref


def _prometheus_queries(dashboard: dict) -> list[tuple[str, str]]:
    """(expr, legendFormat) of every Prometheus query, variables included."""
    queries = [
        (t["expr"], t.get("legendFormat", ""))
        for p in panels(dashboard)
        for t in p["targets"]
        if t["datasource"]["type"] == "prometheus"
    ]
    for var in dashboard["templating"]["list"]:
        if var["datasource"]["type"] == "prometheus":
            match = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", var["query"])
            assert match, var["query"]
            queries.append((match[1], "{{" + match[2] + "}}"))
    return queries


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.stem)
def test_prometheus_queries_use_scraped_series_and_labels(path: Path, catalog) -> None:
    for expr, legend in _prometheus_queries(json.loads(path.read_text())):
        metrics, grouping = promql_parts(expr)
        available: set[str] = set()
        for metric, labels in metrics.items():
            assert metric in catalog, f"{metric} is not scraped ({expr})"
            assert labels <= catalog[metric], f"{labels - catalog[metric]} missing on {metric}"
            available |= catalog[metric]
        assert grouping <= available, f"{grouping - available} not on {set(metrics)}"
        shown = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", legend))
        assert shown <= (grouping or available), f"legend {legend} of {expr}"


def _loki_selectors(dashboard: dict) -> list[str]:
    return [
        t["expr"]
        for p in panels(dashboard)
        for t in p["targets"]
        if t["datasource"]["type"] == "loki"
    ]


def test_loki_queries_use_promtail_labels(loki_labels: dict[str, set[str]]) -> None:
    dashboard = json.loads((DASHBOARDS / "logs.json").read_text())
    exprs = _loki_selectors(dashboard)
    assert exprs
    for expr in exprs:
        for body in re.findall(r"\{([^}]*)\}", expr):
            for label, op, value in re.findall(r"(\w+)\s*(=~|!~|!=|=)\s*\"([^\"]*)\"", body):
                assert label in loki_labels, f"{label} is not a Promtail label ({expr})"
                if op == "=" and "*" not in loki_labels[label]:
                    assert value in loki_labels[label], f"{label}={value} never shipped"
        for label in re.findall(r"\bby\s*\(([^)]*)\)", expr):
            assert label.strip() in loki_labels
    for var in dashboard["templating"]["list"]:
        assert var["query"]["label"] in loki_labels


def test_cross_check_catches_an_unknown_metric(catalog) -> None:
    """The cross-check can fail: a query on a series nobody scrapes is reported."""
    metrics, _ = promql_parts('rate(container_cpu_seconds_totl{host="a"}[5m])')
    assert set(metrics) - set(catalog) == {"container_cpu_seconds_totl"}
