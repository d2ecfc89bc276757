"""scripts/deploy.py's pure parts: the backend file, the endpoint settings, the merge of the
controller's stage config (its docstring examples) and the step list."""

from __future__ import annotations

import argparse
import doctest
import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "deploy.py"


def load_deploy():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("deploy", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_examples_in_the_script_hold() -> None:
    results = doctest.testmod(load_deploy())
    assert results.attempted >= 5 and results.failed == 0


def test_steps_keep_the_deploy_order_and_refuse_unknown_ones() -> None:
    deploy = load_deploy()
    assert deploy.parse_steps("all") == list(deploy.STEPS)
    assert deploy.parse_steps("wire, package") == ["package", "wire"]
    with pytest.raises(argparse.ArgumentTypeError, match="unknown steps"):
        deploy.parse_steps("controller,destroy")


def test_the_merge_keeps_the_stage_s_own_settings_and_other_stages() -> None:
    deploy = load_deploy()
    config = {
        "stages": {
            "prod": {"lambda_memory_size": 512, "environment_variables": {"A": "1", "B": "2"}},
            "dev": {"lambda_memory_size": 256},
        }
    }
    tf = {"manage_iam_role": False, "environment_variables": {"B": "tf", "C": "3"}}
    merged = deploy.merge_stage_config(config, "prod", tf)
    assert merged["stages"]["prod"] == {
        "lambda_memory_size": 512,
        "manage_iam_role": False,
        "environment_variables": {"A": "1", "B": "tf", "C": "3"},
    }
    assert merged["stages"]["dev"] == {"lambda_memory_size": 256}
    assert config["stages"]["prod"]["environment_variables"]["B"] == "2"  # input untouched
