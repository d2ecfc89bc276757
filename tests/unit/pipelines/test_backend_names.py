"""The backends `.gitops.yml` may name are exactly those the registry can build."""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import ValidationError

from chalicelib.backends.registry import BACKENDS
from chalicelib.jobs import RunnerBackendName
from chalicelib.pipelines.config import parse_config


def test_the_config_literal_is_the_registry() -> None:
    assert set(get_args(RunnerBackendName)) == set(BACKENDS)


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_every_registered_backend_is_accepted(name: str) -> None:
    config = parse_config(f"pipelines:\n  terraform-plan:\n    backend: {name}\n")
    assert config.pipeline("terraform-plan").backend == name


def test_a_backend_the_controller_cannot_start_is_a_config_error() -> None:
    from chalicelib.pipelines.config import ConfigError

    with pytest.raises((ConfigError, ValidationError), match="backend"):
        parse_config("pipelines:\n  terraform-plan:\n    backend: github-actions\n")
