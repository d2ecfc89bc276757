"""Logging and metrics through powertools: one logger, EMF metrics flushed per data point.

Every metric carries the ``service`` dimension, and every log line the ``service`` key: the
configured service name (``Settings.service_name``, from ``POWERTOOLS_SERVICE_NAME``, which
terraform/controller sets to its ``app_name``; its alarms filter on the same value). The
composition root calls :func:`configure` once it has read the settings.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from chalicelib.metric_names import NAMESPACE, SERVICE

logger = Logger(service=SERVICE)
_service = {"name": SERVICE}  # until configure(): the default app_name


def configure(service_name: str) -> None:
    """Name the service that metrics and logs carry from now on."""
    _service["name"] = service_name
    logger.append_keys(service=service_name)


def service_name() -> str:
    return _service["name"]


def emit_metric(name: str, value: float = 1, unit: str = "Count", **dimensions: str) -> None:
    """Emit one EMF data point now (no batching: handlers are short and few metrics each).

    ``POWERTOOLS_METRICS_DISABLED=true`` (local mode, tests) turns it off, as for powertools'
    own ``Metrics``.
    """
    if is_metrics_disabled():
        return
    metric_unit = MetricUnit(unit)
    with single_metric(
        name=name,
        unit=metric_unit,
        value=value,
        namespace=NAMESPACE,
        default_dimensions={"service": _service["name"]},
    ) as metric:
        for key, dimension_value in dimensions.items():
            metric.add_dimension(name=key, value=dimension_value)
