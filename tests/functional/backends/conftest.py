from __future__ import annotations

import os

import pytest

from chalicelib.jobs import JobSpec, StepSpec


@pytest.fixture(autouse=True)
def aws_env(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert os.environ["AWS_DEFAULT_REGION"] == "eu-west-1"


@pytest.fixture
def job() -> JobSpec:
    return JobSpec(
        run_id="01JRUNDISPATCH",
        pipeline="terraform-plan",
        repo="acme/infra",
        clone_url="https://github.com/acme/infra.git",
        sha="0a3087a" + "0" * 33,
        pr=7,
        run_number=4,
        steps=[StepSpec(name="init", kind="terraform_init")],
        artifact_prefix="s3://maestrops-artifacts/runs/01JRUNDISPATCH/",
        timeout_minutes=30,
    )
