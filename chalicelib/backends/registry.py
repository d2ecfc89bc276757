"""Backends by name, imported only when chosen (boto3 clients cost cold-start time)."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from chalicelib.backends.base import DispatchError, RunnerBackend, RunnerRef
from chalicelib.jobs import RunnerBackendName
from chalicelib.settings import Settings

BACKENDS: dict[RunnerBackendName, str] = {
    "recording": "chalicelib.backends.recording:RecordingBackend",
    "local": "chalicelib.backends.local:LocalBackend",
    "codebuild": "chalicelib.backends.codebuild:CodeBuildBackend",
    "ecs": "chalicelib.backends.ecs:EcsBackend",
    "ssm": "chalicelib.backends.ssm:SsmBackend",
}


class BackendRegistry:
    """Builds each backend once, on first use."""

    def __init__(
        self,
        settings: Settings,
        factories: dict[str, Callable[[], RunnerBackend]] | None = None,
    ) -> None:
        self._settings = settings
        self._factories = factories or {}
        self._built: dict[str, RunnerBackend] = {}

    def get(self, name: str | None) -> RunnerBackend:
        name = name or self._settings.runner_backend
        if name not in self._built:
            self._built[name] = self._build(name)
        return self._built[name]

    def cancel(self, backend: str | None, runner_ref: str | None) -> None:
        """Stop a run's runner if it has one; a backend that refuses is logged, not raised."""
        if not runner_ref:
            return
        from chalicelib.observability import logger

        try:
            self.get(backend).cancel(RunnerRef(backend=backend or "", id=runner_ref))
        except DispatchError as exc:
            logger.warning("runner not cancelled", extra={"ref": runner_ref, "error": str(exc)})

    def _build(self, name: str) -> RunnerBackend:
        if name in self._factories:
            return self._factories[name]()
        if name not in BACKENDS:
            raise DispatchError(f"unknown runner backend {name!r}; known: {', '.join(BACKENDS)}")
        module_name, class_name = BACKENDS[name].split(":")
        backend_class = getattr(importlib.import_module(module_name), class_name)
        return backend_class.from_settings(self._settings)
