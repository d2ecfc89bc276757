"""Loki and Promtail configuration, checked against their documented structure.

No registry ships Loki or Promtail binaries, so the rendered files are parsed into models of
the configuration reference (grafana.com/docs/loki/latest/configure/ and .../send-data/
promtail/configuration/) that forbid unknown keys, plus the rules the docs state for
retention (TSDB, schema v13, 24h index period, compactor with a delete request store).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Literal

import pytest
from ansible_harness import Rendering
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

pytestmark = pytest.mark.slow

DURATION = r"^(\d+(ms|s|m|h|d|w|y))+$"
LABEL = r"^[a-zA-Z_][a-zA-Z0-9_]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- Loki (single binary, filesystem) -------------------------------------------------------
class LokiServer(Strict):
    http_listen_port: int
    grpc_listen_port: int = 9095
    log_level: Literal["debug", "info", "warn", "error"] = "info"


class LokiRing(Strict):
    kvstore: dict[Literal["store"], Literal["inmemory", "memberlist", "consul", "etcd"]]


class LokiFilesystem(Strict):
    chunks_directory: str
    rules_directory: str


class LokiCommon(Strict):
    instance_addr: str | None = None
    path_prefix: str
    replication_factor: int = Field(ge=1)
    ring: LokiRing
    storage: dict[Literal["filesystem"], LokiFilesystem]


class LokiIndex(Strict):
    prefix: str
    period: Literal["24h"]  # the only period TSDB retention supports


class LokiPeriod(Strict):
    from_: str = Field(alias="from", pattern=r"^\d{4}-\d{2}-\d{2}$")
    store: Literal["tsdb"]
    object_store: Literal["filesystem", "s3", "gcs", "azure"]
    schema_: Literal["v13"] = Field(alias="schema")
    index: LokiIndex


class LokiLimits(Strict):
    retention_period: str = Field(pattern=DURATION)
    ingestion_rate_mb: float = Field(gt=0)
    reject_old_samples: bool
    reject_old_samples_max_age: str = Field(pattern=DURATION)


class LokiCompactor(Strict):
    working_directory: str
    compaction_interval: str = Field(pattern=DURATION)
    retention_enabled: Literal[True]
    retention_delete_delay: str = Field(pattern=DURATION)
    delete_request_store: Literal["filesystem", "s3", "gcs", "azure"]


class LokiConfig(Strict):
    auth_enabled: bool
    server: LokiServer
    common: LokiCommon
    schema_config: dict[Literal["configs"], list[LokiPeriod]]
    limits_config: LokiLimits
    compactor: LokiCompactor
    analytics: dict[Literal["reporting_enabled"], bool]


# --- Promtail ---------------------------------------------------------------------------------
class Relabel(Strict):
    source_labels: list[str] = []
    separator: str = ";"
    target_label: str | None = Field(default=None, pattern=LABEL)
    regex: str = "(.*)"
    modulus: int | None = None
    replacement: str = "$1"
    action: Literal[
        "replace", "keep", "drop", "hashmod", "labelmap", "labeldrop", "labelkeep",
        "lowercase", "uppercase", "keepequal", "dropequal",
    ] = "replace"  # fmt: skip

    @field_validator("regex")
    @classmethod
    def compiles(cls, value: str) -> str:
        re.compile(value)
        return value


class DockerSD(Strict):
    host: str = Field(pattern=r"^(unix|tcp)://")
    port: int = 80
    refresh_interval: str = Field(default="1m", pattern=DURATION)
    filters: list[dict] = []


class Journal(Strict):
    max_age: str = Field(pattern=DURATION)
    json_: bool = Field(default=False, alias="json")
    path: str | None = None
    labels: dict[str, str] = {}


class StaticConfig(Strict):
    targets: list[str]
    labels: dict[str, str]


class ScrapeConfig(Strict):
    job_name: str
    docker_sd_configs: list[DockerSD] | None = None
    journal: Journal | None = None
    static_configs: list[StaticConfig] | None = None
    relabel_configs: list[Relabel] = []
    pipeline_stages: list[dict] = []


class Client(Strict):
    url: str = Field(pattern=r"^https?://[^/]+/loki/api/v1/push$")
    external_labels: dict[str, str] = {}
    tenant_id: str | None = None


class PromtailConfig(Strict):
    server: dict[Literal["http_listen_port", "grpc_listen_port", "log_level"], int | str]
    positions: dict[Literal["filename", "sync_period"], str]
    clients: list[Client] = Field(min_length=1)
    scrape_configs: list[ScrapeConfig] = Field(min_length=1)


# --- tests ------------------------------------------------------------------------------------
def test_loki_config_matches_the_reference(rendering: Rendering) -> None:
    config = LokiConfig.model_validate(rendering.load("monitoring-1", "loki/loki.yml"))
    assert config.limits_config.retention_period == "744h"
    # Everything Loki writes lives under the data volume mounted at /loki.
    assert config.common.storage["filesystem"].chunks_directory.startswith("/loki/")
    assert config.compactor.working_directory.startswith("/loki/")


def test_loki_model_rejects_unknown_keys(rendering: Rendering) -> None:
    data = rendering.load("monitoring-1", "loki/loki.yml")
    data["limits_config"]["retention"] = "744h"  # a plausible typo
    with pytest.raises(ValidationError):
        LokiConfig.model_validate(data)


@pytest.mark.parametrize("host", ["monitoring-1", "app-1"])
def test_promtail_config_matches_the_reference(rendering: Rendering, host: str) -> None:
    config = PromtailConfig.model_validate(rendering.load(host, "promtail/promtail.yml"))
    client = config.clients[0]
    # Every line is labelled with its host and group; containers by name and compose service.
    assert client.external_labels == {"host": host, "group": host.split("-")[0]}
    jobs = {job.job_name: job for job in config.scrape_configs}
    assert set(jobs) == {"docker", "journal", "varlog"}
    docker_targets = {r.target_label for r in jobs["docker"].relabel_configs}
    assert {"container", "compose_service", "job"} <= docker_targets


def test_promtail_ships_to_the_monitoring_hosts_loki(rendering: Rendering) -> None:
    loki = rendering.load("monitoring-1", "compose.d/loki.yml")["services"]["loki"]
    assert loki["ports"] == ["10.0.1.11:3100:3100"]
    port = rendering.load("monitoring-1", "loki/loki.yml")["server"]["http_listen_port"]
    for host in ("monitoring-1", "app-1"):
        url = rendering.load(host, "promtail/promtail.yml")["clients"][0]["url"]
        assert url == f"http://10.0.1.11:{port}/loki/api/v1/push"


@pytest.mark.parametrize("host", ["monitoring-1", "app-1"])
def test_promtail_reads_only_what_its_container_mounts(rendering: Rendering, host: str) -> None:
    config = rendering.load(host, "promtail/promtail.yml")
    service = rendering.load(host, "compose.d/promtail.yml")["services"]["promtail"]
    mounts = [PurePosixPath(v.split(":")[1]) for v in service["volumes"]]
    paths = [
        config["positions"]["filename"],
        *(j["journal"]["path"] for j in config["scrape_configs"] if "journal" in j),
        *(
            sc["labels"]["__path__"]
            for j in config["scrape_configs"]
            for sc in j.get("static_configs", [])
        ),
        *(
            sd["host"].removeprefix("unix://")
            for j in config["scrape_configs"]
            for sd in j.get("docker_sd_configs", [])
        ),
    ]
    for path in paths:
        parent = PurePosixPath(path)
        assert any(parent.is_relative_to(m) for m in mounts), f"{path} not mounted in {mounts}"
