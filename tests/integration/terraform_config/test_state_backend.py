"""The managed stack's S3 backend as the controller hands it to the runner, with real
Terraform on a moto server: a stack with ``backend "s3" {}`` and nothing else initialises
from the ``-backend-config`` values ``build_job`` puts in the job, plans unlocked, applies
locked, and a second plan made from that state sees no change.

Only the endpoints differ from AWS: Terraform 1.0's S3 backend reads no AWS_ENDPOINT_URL, so
the test adds ``endpoint``, ``dynamodb_endpoint`` and ``sts_endpoint`` (and path-style
requests) to the values the controller computed. The bucket and table are made here, without
bootstrap's TLS-only bucket policy, which moto would apply to its plain-HTTP requests.
"""

from __future__ import annotations

import json

import boto3
import pytest

from chalicelib.jobs import Pipeline
from chalicelib.pipelines.config import parse_config
from chalicelib.pipelines.jobspec import build_job
from chalicelib.runs.model import Run
from chalicelib.settings import Settings
from runners.process import ProcessRunner
from runners.terraform_cli import Terraform, state_mark

pytestmark = pytest.mark.slow

BUCKET, TABLE = "maestrops-tfstate-123456789012", "maestrops-tfstate-locks"
S3_BACKEND = 'terraform {\n  backend "s3" {}\n}\n'


def _run(pipeline: Pipeline, branch: str) -> Run:
    return Run(
        id=f"run-{pipeline.value}",
        repo="acme/infra",
        pipeline=pipeline,
        sha="0a3087a" + "0" * 33,
        branch=branch,
        base_branch="infra_main",
        pr=7,
        run_number=1,
    )


def _params(job, kind: str) -> dict:
    return next(step.params for step in job.steps if step.kind == kind)


@pytest.fixture
def backend(kit, moto_endpoint):
    aws = {
        "endpoint_url": moto_endpoint,
        "region_name": "eu-west-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    s3, dynamodb = boto3.client("s3", **aws), boto3.client("dynamodb", **aws)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    moto_only = {
        "endpoint": moto_endpoint,
        "dynamodb_endpoint": moto_endpoint,
        "sts_endpoint": moto_endpoint,
        "force_path_style": "true",
        "skip_credentials_validation": "true",
        "skip_metadata_api_check": "true",
    }
    return {"s3": s3, "dynamodb": dynamodb, "moto_only": moto_only}


def test_the_controllers_backend_config_initialises_plans_unlocked_and_applies(
    kit, backend, null_plugin_dir, moto_endpoint, tmp_path
) -> None:
    settings = Settings(
        region="eu-west-1", state_bucket=BUCKET, state_lock_table=TABLE, runner_backend="codebuild"
    )
    config = parse_config("terraform: {dir: terraform/examples/null-stack}")
    plan_job = build_job(_run(Pipeline.TERRAFORM_PLAN, "infra_features"), config, settings, "u")
    apply_job = build_job(_run(Pipeline.TERRAFORM_APPLY, "infra_main"), config, settings, "u")
    assert (plan_job.identity, apply_job.identity) == ("plan", "apply")
    key = "stacks/acme/infra/terraform/examples/null-stack/default.tfstate"

    env = {**kit.base_env(tmp_path, ""), **kit.aws_env(moto_endpoint)}
    env.pop("AWS_ENDPOINT_URL")  # as in AWS: only the backend's own settings name endpoints
    rounds = []
    for attempt in range(3):  # plan and apply, then the same again on the state they left
        workdir = kit.copy_config(
            kit.TERRAFORM_DIR / "examples" / "null-stack", tmp_path / f"stack-{attempt}"
        )
        (workdir / "backend.tf").write_text(S3_BACKEND)
        proc = ProcessRunner(tmp_path / f"terraform-{attempt}.log", env=env, echo=False)
        tf = Terraform(workdir, proc, binary=str(kit.terraform_binary()))
        for job, kind in ((plan_job, "plan"), (apply_job, "apply")):
            init = _params(job, "terraform_init")
            assert init["backend_config"]["key"] == key
            done = tf.init(
                backend_config={**init["backend_config"], **backend["moto_only"]},
                plugin_dir=str(null_plugin_dir),
            )
            assert done.returncode == 0, done.tail
            if kind == "plan":
                # The plan identity may not write the lock table, so the job plans unlocked:
                # with an apply's lock held on the state, the plan still runs.
                held = {"LockID": {"S": f"{BUCKET}/{key}"}, "Info": {"S": '{"ID": "apply"}'}}
                backend["dynamodb"].put_item(TableName=TABLE, Item=held)
                lock = _params(job, "terraform_plan")["lock"]
                outcome = tf.plan(tmp_path / f"plan-{attempt}.tfplan", lock=lock)
                assert outcome.exit_code in (0, 2), outcome.completed.tail
                backend["dynamodb"].delete_item(TableName=TABLE, Key={"LockID": held["LockID"]})
            else:
                assert "lock" not in _params(job, "terraform_apply")
                done = tf.apply(tmp_path / f"plan-{attempt}.tfplan")
                assert done.returncode == 0, done.tail
        stored = json.loads(backend["s3"].get_object(Bucket=BUCKET, Key=key)["Body"].read())
        rounds.append((outcome.has_changes, state_mark(stored)))
    # The first round creates the hosts; the next ones find them in the S3 state: no change.
    assert [changes for changes, _ in rounds] == [True, False, False]
    lineages = {mark["lineage"] for _, mark in rounds}
    assert len(lineages) == 1 and None not in lineages  # one state, found again every round
    serials = [mark["serial"] for _, mark in rounds]
    assert serials == sorted(serials)
    # The digest the S3 backend keeps in the lock table, which a plan's GetItem reads.
    digests = backend["dynamodb"].scan(TableName=TABLE)["Items"]
    assert any(i["LockID"]["S"] == f"{BUCKET}/{key}-md5" for i in digests)
