"""Logging and metrics through powertools: one logger, EMF metrics flushed per data point."""

from __future__ import annotations

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from chalicelib.metric_names import NAMESPACE, SERVICE

logger = Logger(service=SERVICE)


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
        default_dimensions={"service": SERVICE},
    ) as metric:
        for key, dimension_value in dimensions.items():
            metric.add_dimension(name=key, value=dimension_value)
