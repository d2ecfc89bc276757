"""Prometheus metrics: a middleware around the app, one registry per app instance."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

Handler = Callable[[Request], Awaitable[Response]]


class HttpMetrics:
    """Request count and latency labelled by route template (not raw path), so
    `/api/notes/1` and `/api/notes/2` share one series."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "notes_http_requests",
            "HTTP requests handled.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "notes_http_request_duration_seconds",
            "Time spent handling HTTP requests.",
            ["method", "route"],
            registry=registry,
        )

    async def middleware(self, request: Request, call_next: Handler) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        route = _route_template(request)
        self.latency.labels(request.method, route).observe(time.perf_counter() - start)
        self.requests.labels(request.method, route, str(response.status_code)).inc()
        return response

    def endpoint(self, _: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def _route_template(request: Request) -> str:
    route = request.scope.get("route")
    # Unmatched paths collapse into one label value: scanners must not explode cardinality.
    return getattr(route, "path", "unmatched")


def install_metrics(app: FastAPI) -> HttpMetrics:
    metrics = HttpMetrics(CollectorRegistry())
    app.middleware("http")(metrics.middleware)
    app.add_api_route("/metrics", metrics.endpoint, include_in_schema=False)
    return metrics
