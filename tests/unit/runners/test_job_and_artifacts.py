from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from chalicelib.jobs import ENV_JOB_URI, JobSpec, StepSpec, job_env
from runners.artifacts import FileArtifactStore, S3ArtifactStore, sibling_prefix, store_for
from runners.exceptions import JobLoadError
from runners.job import load_job


@pytest.fixture
def job() -> JobSpec:
    return JobSpec(
        run_id="r-1",
        pipeline="terraform-validate",
        repo="acme/infra",
        clone_url="/srv/repos/acme/infra",
        sha="f" * 40,
        run_number=3,
        steps=[StepSpec(name="validate", kind="terraform_validate")],
        artifact_prefix="s3://maestrops-artifacts/runs/r-1/",
    )


def test_job_from_file_env_and_s3(tmp_path, job, monkeypatch):
    path = tmp_path / "job.json"
    path.write_text(job.model_dump_json())
    assert load_job(str(path), env={}) == job
    assert load_job(None, env=job_env(job)) == job
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(
            Bucket="jobs-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        s3.put_object(Bucket="jobs-bucket", Key="runs/r-1/job.json", Body=job.model_dump_json())
        uri = "s3://jobs-bucket/runs/r-1/job.json"
        assert load_job("env", env={ENV_JOB_URI: uri}, s3_client=s3) == job


def test_bad_jobs_are_explained(tmp_path):
    with pytest.raises(JobLoadError, match="no job given"):
        load_job(None, env={})
    bad = tmp_path / "bad.json"
    bad.write_text('{"run_id": "x"}')
    with pytest.raises(JobLoadError, match="invalid job"):
        load_job(str(bad), env={})


def test_file_store_round_trip(tmp_path):
    store = store_for((tmp_path / "runs" / "r-1").as_uri() + "/")
    assert isinstance(store, FileArtifactStore)
    uri = store.put_bytes("results/plan.json", b"{}")
    assert Path(tmp_path / "runs/r-1/results/plan.json").read_bytes() == b"{}"
    assert store.get_file(uri, tmp_path / "copy.json").read_bytes() == b"{}"


@mock_aws
def test_s3_store_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="maestrops-artifacts")
    store = S3ArtifactStore("s3://maestrops-artifacts/runs/r-1/", s3)
    src = tmp_path / "plan.tfplan"
    src.write_bytes(b"plan")
    uri = store.put_file("plan.tfplan", src)
    assert uri == "s3://maestrops-artifacts/runs/r-1/plan.tfplan"
    assert store.get_file(uri, tmp_path / "back").read_bytes() == b"plan"


def test_sibling_prefix():
    assert sibling_prefix("s3://b/runs/r-2/", "r-2", "r-1") == "s3://b/runs/r-1/"
    with pytest.raises(ValueError):
        sibling_prefix("s3://b/other/", "r-2", "r-1")
