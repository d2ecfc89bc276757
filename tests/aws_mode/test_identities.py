"""The runners' two identities as terraform/controller creates them, tried against moto with
its IAM enforcement on.

terraform/bootstrap and terraform/controller are applied (real Terraform, the mirrored AWS
provider) to this module's moto server; the state bucket and lock table bootstrap makes are
the controller's ``state_bucket`` / ``state_lock_table``. Then each role is assumed through
STS, moto's enforcement is switched on (``POST /moto-api/reset-auth`` with 0: from then on
every request is signed-checked and its action evaluated against the caller's policies), and
the role's credentials try what the design allows and forbids.

What moto enforces, and what it does not (moto 5.2, ``moto/core/authorization.py``):
- S3 requests are checked against the object's or bucket's ARN: the state and artifact
  checks below are real resource-level decisions.
- Secrets Manager and DynamoDB requests are checked with the resource ``"*"``: a statement
  scoped to one secret or table never matches, so moto refuses them whatever the policy
  says. The secret refusals are therefore also proven from the applied policy documents
  (no Allow statement of the plan role covers GetSecretValue on a controller secret), and
  the lock-table rights only from the documents.
- moto evaluates bucket policies, and the bootstrap bucket's TLS-only Deny refuses every
  request moto gets (it speaks plain HTTP only): the test deletes that policy on moto.
  Conditions of identity policies count as unmet (no request context), and the S3
  statements of the runner roles carry none.
"""

from __future__ import annotations

import fnmatch
import json
import subprocess
import urllib.request

import boto3
import pytest
from botocore.exceptions import ClientError

# The Terraform-on-moto fixtures of the configuration tests; this file runs under make test-aws.
from tests.integration.terraform_config import conftest as terraform_config

aws_mirror = terraform_config.aws_mirror
kit = terraform_config.kit
moto_endpoint = terraform_config.moto_endpoint

pytestmark = pytest.mark.slow

LOCAL_BACKEND = 'terraform {\n  backend "local" {}\n}\n'
STATE_KEY = "stacks/acme/infra/terraform/infra/default.tfstate"
CONTROLLER_STATE_KEY = "controller/test/terraform.tfstate"  # beside the stacks, out of reach
CONTROLLER_SECRETS = ("webhook-secret", "github-app", "registry")
MANAGED_ROLES = {
    "plan": "arn:aws:iam::210987654321:role/maestrops-read",
    "apply": "arn:aws:iam::210987654321:role/maestrops-deployer",
}
RUNNER_ENVIRONMENT = [
    "MAESTRO_RUNNER_PLAN_ROLE_ARN",
    "MAESTRO_RUNNER_APPLY_ROLE_ARN",
    "MAESTRO_STATE_BUCKET",
    "MAESTRO_STATE_LOCK_TABLE",
    "MAESTRO_STATE_REGION",
]


def _set_enforcement(endpoint: str, after: str) -> None:
    """moto's own switch: ``after`` unauthenticated requests remain ("0": none, "inf": all)."""
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth",
        data=after.encode(),
        method="POST",
        # A form content type would have the server parse the body away from request.data.
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["status"] == "ok"


def _client(endpoint: str, service: str, credentials: dict[str, str] | None = None):
    credentials = credentials or {
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    return boto3.client(service, endpoint_url=endpoint, region_name="eu-west-1", **credentials)


def _terraform(kit, source: str, workdir, env):
    kit.copy_config(kit.TERRAFORM_DIR / source, workdir)
    (workdir / "backend_override.tf").write_text(LOCAL_BACKEND)
    tf = kit.Terraform(kit.terraform_binary(), workdir, env)
    tf.run("init", "-input=false", "-no-color")
    return tf


def _resources(module: dict) -> dict[str, dict]:
    """Address -> values of the resources of a ``show -json`` root module."""
    return {r["address"]: r.get("values", {}) for r in module.get("resources", [])}


# moto cannot create the whole controller (a CodeBuild project without source, FIFO queue
# attributes it never reports as set): the identities and what their policies name are
# applied, and the rest is read from a plan made on top of that state.
IDENTITY_TARGETS = (
    "-target=aws_iam_role_policy.runner",
    "-target=aws_iam_role_policy.runner_common",
)


@pytest.fixture(scope="module")
def stack(kit, aws_mirror, moto_endpoint, tmp_path_factory):
    home = tmp_path_factory.mktemp("tf-home")
    env = {**kit.base_env(home, kit.mirror_cli_config(aws_mirror)), **kit.aws_env(moto_endpoint)}
    root = tmp_path_factory.mktemp("identities")
    bootstrap = _terraform(kit, "bootstrap", root / "bootstrap", env)
    bootstrap.run("apply", "-auto-approve", "-input=false", "-no-color")
    state = bootstrap.outputs()
    controller = _terraform(kit, "controller", root / "controller", env)
    variables = (
        "-var=stage=dev",
        "-var=app_name=mtest",
        "-var=region=eu-west-1",
        "-var=infracost_enabled=true",
        f"-var=state_bucket={state['state_bucket']}",
        f"-var=state_lock_table={state['lock_table']}",
    )
    controller.run("apply", "-auto-approve", "-input=false", "-no-color", *variables,
                   *IDENTITY_TARGETS, timeout=900)  # fmt: skip
    controller.run("plan", "-input=false", "-no-color", *variables, "-out=full.tfplan")
    shown = json.loads(controller.run("show", "-json", "full.tfplan").stdout)
    applied = _resources(shown["prior_state"]["values"]["root_module"])
    planned = _resources(shown["planned_values"]["root_module"])
    # The same controller with a role per identity in another account, planned on that state.
    managed = ("-var=plan_role_arn=" + MANAGED_ROLES["plan"],
               "-var=apply_role_arn=" + MANAGED_ROLES["apply"])  # fmt: skip
    controller.run("plan", "-input=false", "-no-color", *variables, *managed, "-out=managed.tfplan")
    in_another_account = _resources(
        json.loads(controller.run("show", "-json", "managed.tfplan").stdout)["planned_values"][
            "root_module"
        ]
    )
    # The plan shows the whole environment unknown (the queue's URL exists once applied);
    # Terraform itself evaluates the keys that only name applied resources and variables.
    keys = json.dumps(RUNNER_ENVIRONMENT)
    expression = f"jsonencode({{for k in {keys} : k => local.lambda_environment[k]}})"
    console = subprocess.run(
        [str(kit.terraform_binary()), "console", *variables],
        input=expression, cwd=root / "controller", env=env, capture_output=True, text=True,
        timeout=300, check=True,
    )  # fmt: skip
    lambda_environment = json.loads(json.loads(console.stdout))
    admin = {s: _client(moto_endpoint, s) for s in ("s3", "secretsmanager", "sts", "iam")}
    bucket = state["state_bucket"]
    # Its TLS-only policy denies every plain-HTTP request, and moto evaluates it (module doc).
    admin["s3"].delete_bucket_policy(Bucket=bucket)
    artifacts = applied["aws_s3_bucket.artifacts"]["bucket"]
    for key in (STATE_KEY, CONTROLLER_STATE_KEY):
        admin["s3"].put_object(Bucket=bucket, Key=key, Body=b'{"serial": 1}')
    secret_ids = {
        address.split('"')[1]: values["name"]
        for address, values in applied.items()
        if address.startswith("aws_secretsmanager_secret.this[")
    }
    for name, secret_id in secret_ids.items():
        admin["secretsmanager"].put_secret_value(SecretId=secret_id, SecretString=f"{name}-value")
    roles = {
        "plan": applied["aws_iam_role.runner_plan"]["arn"],
        "apply": applied["aws_iam_role.runner_apply"]["arn"],
    }
    credentials = {}
    for identity, arn in roles.items():
        assumed = admin["sts"].assume_role(RoleArn=arn, RoleSessionName=f"test-{identity}")
        c = assumed["Credentials"]
        credentials[identity] = {
            "aws_access_key_id": c["AccessKeyId"],
            "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"],
        }
    iam = admin["iam"]
    policies = {
        identity: [
            iam.get_role_policy(RoleName=arn.rsplit("/", 1)[1], PolicyName=name)["PolicyDocument"]
            for name in iam.list_role_policies(RoleName=arn.rsplit("/", 1)[1])["PolicyNames"]
        ]
        for identity, arn in roles.items()
    }
    _set_enforcement(moto_endpoint, "0")
    try:
        yield {
            "endpoint": moto_endpoint,
            "bucket": bucket,
            "lock_table": state["lock_table"],
            "artifacts": artifacts,
            "secrets": secret_ids,
            "roles": roles,
            "credentials": credentials,
            "policies": policies,
            "planned": planned,
            "in_another_account": in_another_account,
            "lambda_environment": lambda_environment,
        }
    finally:
        _set_enforcement(moto_endpoint, "inf")


def _as(stack, identity: str, service: str):
    return _client(stack["endpoint"], service, stack["credentials"][identity])


def _denied(call) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    # S3 says AccessDenied; moto's Secrets Manager answers an XML 403 that botocore's JSON
    # parser reports by status only, with IAM's "not authorized to perform" in the body.
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403, raised.value
    assert response["Error"]["Code"] in ("AccessDenied", "403"), raised.value
    assert response["Error"]["Code"] == "AccessDenied" or "not authorized" in str(raised.value)
    return response["Error"]["Code"]


def _allowed_resources(policies: list, action: str) -> list[str]:
    """Resources of every Allow statement whose actions cover ``action`` (IAM's globs)."""
    found = []
    for document in policies:
        for statement in document["Statement"]:
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            if statement["Effect"] != "Allow":
                continue
            if any(fnmatch.fnmatchcase(action, pattern) for pattern in actions):
                resources = statement.get("Resource", [])
                found += [resources] if isinstance(resources, str) else resources
    return found


def _covers(resources: list[str], arn: str) -> bool:
    return any(fnmatch.fnmatchcase(arn, pattern) for pattern in resources)


def test_runners_start_as_the_plan_identity_without_the_infracost_key(stack) -> None:
    """The project's and the task definition's own role is the plan identity; the Lambda
    environment names both roles for the start calls; no secret value is injected."""
    planned, roles = stack["planned"], stack["roles"]
    codebuild = planned["aws_codebuild_project.runner"]
    assert codebuild["service_role"] == roles["plan"]
    variables = {v["name"]: v for v in codebuild["environment"][0]["environment_variable"]}
    assert "INFRACOST_API_KEY" not in variables
    assert all(v["type"] == "PLAINTEXT" for v in variables.values())
    assert variables["MAESTRO_INFRACOST_SECRET"]["value"] == stack["secrets"]["infracost-api-key"]
    task = planned["aws_ecs_task_definition.runner"]
    assert task["task_role_arn"] == roles["plan"]
    container = json.loads(task["container_definitions"])[0]
    assert "secrets" not in container or not container["secrets"]
    env = stack["lambda_environment"]
    assert env["MAESTRO_RUNNER_PLAN_ROLE_ARN"] == roles["plan"]
    assert env["MAESTRO_RUNNER_APPLY_ROLE_ARN"] == roles["apply"]
    assert env["MAESTRO_STATE_BUCKET"] == stack["bucket"]
    assert env["MAESTRO_STATE_LOCK_TABLE"] == stack["lock_table"]
    assert env["MAESTRO_STATE_REGION"] == "eu-west-1"


def test_the_plan_identity_reads_the_state_and_writes_only_run_artifacts(stack) -> None:
    s3 = _as(stack, "plan", "s3")
    for attempt in range(3):  # the same answers on the same state, every time
        body = s3.get_object(Bucket=stack["bucket"], Key=STATE_KEY)["Body"].read()
        assert body == b'{"serial": 1}'
        _denied(lambda: s3.put_object(Bucket=stack["bucket"], Key=STATE_KEY, Body=b"{}"))
        _denied(lambda: s3.delete_object(Bucket=stack["bucket"], Key=STATE_KEY))
        _denied(lambda: s3.get_object(Bucket=stack["bucket"], Key=CONTROLLER_STATE_KEY))
        key = f"runs/run-{attempt}/plan.json"
        s3.put_object(Bucket=stack["artifacts"], Key=key, Body=b"{}")
        _denied(lambda: s3.put_object(Bucket=stack["artifacts"], Key="feedback/x", Body=b"{}"))
    apply = _as(stack, "apply", "s3")
    assert (
        apply.get_object(Bucket=stack["bucket"], Key=STATE_KEY)["Body"].read() == b'{"serial": 1}'
    )


def test_the_plan_identity_cannot_read_the_controllers_secrets(stack) -> None:
    secrets = _as(stack, "plan", "secretsmanager")
    for _ in range(2):
        for name in CONTROLLER_SECRETS:
            secret_id = stack["secrets"][name]
            _denied(lambda: secrets.get_secret_value(SecretId=secret_id))  # noqa: B023
    # moto checks Secrets Manager calls by action only (module docstring): the documents say
    # the same for each secret's ARN.
    granted = _allowed_resources(stack["policies"]["plan"], "secretsmanager:GetSecretValue")
    for name in CONTROLLER_SECRETS:
        for pattern in granted:
            assert f"/{name}" not in pattern and pattern != "*", (name, pattern)
    assert granted and all("infracost-api-key" in pattern for pattern in granted), granted


def test_the_plan_identity_cannot_take_or_break_the_lock(stack) -> None:
    """From the documents only: moto evaluates DynamoDB calls against the resource "*"."""
    table_arn = f"arn:aws:dynamodb:eu-west-1:123456789012:table/{stack['lock_table']}"
    plan = stack["policies"]["plan"]
    assert _covers(_allowed_resources(plan, "dynamodb:GetItem"), table_arn)
    for action in ("dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem"):
        assert not _covers(_allowed_resources(plan, action), table_arn), action
    apply = stack["policies"]["apply"]
    for action in ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"):
        assert _covers(_allowed_resources(apply, action), table_arn), action


def test_the_plan_identity_writes_nothing_in_the_managed_stack(stack) -> None:
    plan = stack["policies"]["plan"]
    for action in (
        "ec2:RunInstances", "ec2:CreateVpc", "ec2:TerminateInstances",
        "route53:ChangeResourceRecordSets", "iam:CreateRole", "iam:PutRolePolicy",
        "iam:PassRole", "ssm:StartSession", "ssm:SendCommand", "ssm:GetParameter",
        "s3:DeleteObject",
    ):  # fmt: skip
        assert _allowed_resources(plan, action) == [], action
    assert _covers(_allowed_resources(plan, "ec2:DescribeInstances"), "*")


def test_the_apply_identity_writes_the_state_and_only_the_stacks(stack) -> None:
    s3 = _as(stack, "apply", "s3")
    for serial in (2, 3):  # a second and a third apply on the same state
        body = json.dumps({"serial": serial}).encode()
        s3.put_object(Bucket=stack["bucket"], Key=STATE_KEY, Body=body)
        assert s3.get_object(Bucket=stack["bucket"], Key=STATE_KEY)["Body"].read() == body
        _denied(lambda: s3.put_object(Bucket=stack["bucket"], Key=CONTROLLER_STATE_KEY, Body=b""))
    secrets = _as(stack, "apply", "secretsmanager")
    for name in ("webhook-secret", "github-app"):
        secret_id = stack["secrets"][name]
        _denied(lambda: secrets.get_secret_value(SecretId=secret_id))  # noqa: B023


def test_in_another_account_each_identity_may_assume_only_its_own_role(stack) -> None:
    """With plan_role_arn and apply_role_arn set, the identities manage nothing here: each
    may assume its own managed-account role, and the runners' environment names both."""
    planned = stack["in_another_account"]
    documents = {
        identity: [
            json.loads(planned[f'aws_iam_role_policy.{name}["{identity}"]']["policy"])
            for name in ("runner", "runner_common")
        ]
        for identity in ("plan", "apply")
    }
    for identity, other in (("plan", "apply"), ("apply", "plan")):
        assumable = _allowed_resources(documents[identity], "sts:AssumeRole")
        assert MANAGED_ROLES[identity] in assumable
        assert MANAGED_ROLES[other] not in assumable
    assert _allowed_resources(documents["apply"], "ec2:RunInstances") == []
    assert _allowed_resources(documents["apply"], "iam:CreateRole") == []
    assert _covers(
        _allowed_resources(documents["apply"], "s3:PutObject"),
        f"arn:aws:s3:::{stack['bucket']}/{STATE_KEY}",
    )
    variables = {
        v["name"]: v["value"]
        for v in planned["aws_codebuild_project.runner"]["environment"][0]["environment_variable"]
    }
    assert variables["MAESTRO_MANAGED_PLAN_ROLE_ARN"] == MANAGED_ROLES["plan"]
    assert variables["MAESTRO_MANAGED_APPLY_ROLE_ARN"] == MANAGED_ROLES["apply"]
    # Without them (the applied stack), the apply identity manages the stack in this account.
    assert "MAESTRO_MANAGED_APPLY_ROLE_ARN" not in {
        v["name"]
        for v in stack["planned"]["aws_codebuild_project.runner"]["environment"][0][
            "environment_variable"
        ]
    }
    assert _allowed_resources(stack["policies"]["apply"], "ec2:RunInstances") == ["*"]
