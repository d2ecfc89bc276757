"""The runner in its AWS shape against a moto server on loopback (AWS_ENDPOINT_URL): the job
from S3 through the environment, artifacts to S3, events through EventBridge to a queue."""

from __future__ import annotations

import json

import boto3
import pytest
from moto.server import ThreadedMotoServer

from chalicelib.jobs import ENV_JOB_URI, Callback
from runners.executor import Executor
from runners.job import load_job

pytestmark = pytest.mark.slow


@pytest.fixture
def moto_endpoint(monkeypatch):
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for name, value in {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    yield f"http://{host}:{port}"
    server.stop()


def test_plan_run_with_s3_artifacts_and_eventbridge_events(bench, moto_endpoint):
    s3, sqs, events = boto3.client("s3"), boto3.client("sqs"), boto3.client("events")
    s3.create_bucket(Bucket="maestrops-artifacts")
    queue = sqs.create_queue(QueueName="runner-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    events.put_rule(Name="runner", EventPattern=json.dumps({"source": ["maestrops.runner"]}))
    events.put_targets(Rule="runner", Targets=[{"Id": "q", "Arn": arn["QueueArn"]}])

    sha = bench.commit("terraform/null-ok")
    job = bench.job(
        "aws-1", sha,
        [("init", "terraform_init", {"backend": False}), ("plan", "terraform_plan", {})],
        artifact_prefix="s3://maestrops-artifacts/runs/aws-1/", callback=Callback(),
    )  # fmt: skip
    s3.put_object(Bucket="maestrops-artifacts", Key="jobs/aws-1.json", Body=job.model_dump_json())
    loaded = load_job("env", env={ENV_JOB_URI: "s3://maestrops-artifacts/jobs/aws-1.json"})
    assert Executor(loaded, env=bench.env, echo=False).run(bench.root / "scratch") == 0

    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="maestrops-artifacts")["Contents"]}
    prefix = "runs/aws-1/"
    for name in ("plan.tfplan", "plan.json", "plan-summary.json", "plan-meta.json",
                 "logs/plan.log", "results/plan.json"):  # fmt: skip
        assert prefix + name in keys
    received = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            break
        received += [json.loads(m["Body"]) for m in batch]
    received.sort(key=lambda e: e["detail"]["sequence"])
    types = [e["detail-type"] for e in received]
    assert types[0] == "MaestrOps Run Started" and types[-1] == "MaestrOps Run Finished"
    assert types.count("MaestrOps Step Finished") == 2
    finished = received[-1]["detail"]
    assert finished["status"] == "succeeded"
    assert (
        finished["artifacts"]["plan_summary"]
        == "s3://maestrops-artifacts/runs/aws-1/plan-summary.json"
    )
