"""Which AWS identity a run gets, and the start calls that give it: CodeBuild's
``serviceRoleOverride`` and ECS's ``overrides.taskRoleArn``, sent to moto.

Also the managed stack's S3 backend that AWS-mode jobs carry (``-backend-config`` values and
unlocked plans) and the ``.gitops.yml`` key that may change it, refused when hostile.
"""

from __future__ import annotations

import configparser
import json

import boto3
import pytest
from moto import mock_aws

from chalicelib.backends.codebuild import CodeBuildBackend
from chalicelib.backends.ecs import EcsBackend
from chalicelib.jobs import JobSpec, Pipeline
from chalicelib.pipelines.config import ConfigError, GitOpsConfig, parse_config
from chalicelib.pipelines.identity import runner_identity
from chalicelib.pipelines.jobspec import build_job
from chalicelib.runs.model import Run
from chalicelib.settings import Settings
from runners.context import RunContext
from runners.exceptions import StepFailedError
from runners.steps.cost import ENV_INFRACOST_SECRET, infracost_env
from runners.steps.terraform import managed_account_env

PLAN_ROLE = "arn:aws:iam::123456789012:role/maestrops-prod-runner-plan"
APPLY_ROLE = "arn:aws:iam::123456789012:role/maestrops-prod-runner-apply"
ROLES = {"plan": PLAN_ROLE, "apply": APPLY_ROLE}
AWS_SETTINGS = Settings(
    runner_backend="codebuild",
    artifacts_bucket="maestrops-prod-artifacts-123456789012",
    region="eu-west-1",
    runner_plan_role_arn=PLAN_ROLE,
    runner_apply_role_arn=APPLY_ROLE,
    state_bucket="maestrops-tfstate-123456789012",
    state_lock_table="maestrops-tfstate-locks",
)
SHA = "0a3087a" + "0" * 33


def _run(pipeline: Pipeline, branch: str | None, base: str | None, **fields) -> Run:
    return Run(
        id=f"run-{pipeline.value}-{branch}",
        repo="acme/infra",
        pipeline=pipeline,
        sha=SHA,
        branch=branch,
        base_branch=base,
        pr=7,
        run_number=3,
        **fields,
    )


# --- the choice ----------------------------------------------------------------------------

MAIN, FEATURE = "infra_main", "infra_features"
PROTECTED = GitOpsConfig().protected_branches()


@pytest.mark.parametrize(
    ("pipeline", "branch", "base", "from_fork", "expected"),
    [
        # merged, reviewed runs on their protected base branch
        ("terraform-apply", MAIN, MAIN, False, "apply"),
        ("ansible-monitoring", MAIN, MAIN, False, "apply"),
        ("cd-application", "deployment", "deployment", False, "apply"),
        # pull-request code and pushes that feed pull requests
        ("terraform-plan", FEATURE, MAIN, False, "plan"),
        ("terraform-plan", MAIN, MAIN, False, "plan"),
        ("terraform-validate", FEATURE, None, False, "plan"),
        ("ci-application", "integration", None, False, "plan"),
        # `maestro apply` before the merge runs the PR's head: not merged code
        ("terraform-apply", FEATURE, MAIN, False, "plan"),
        # a fork whose branch is named like the base, an unprotected "base", unknowns
        ("terraform-apply", MAIN, MAIN, True, "plan"),
        ("terraform-apply", "scratch", "scratch", False, "plan"),
        ("terraform-apply", None, None, False, "plan"),
        ("terraform-apply", MAIN, None, False, "plan"),
        ("gitops-config", MAIN, MAIN, False, "plan"),
        ("something-new", MAIN, MAIN, False, "plan"),
    ],
)
def test_only_merged_runs_of_apply_pipelines_get_the_apply_identity(
    pipeline, branch, base, from_fork, expected
):
    assert runner_identity(pipeline, branch, base, from_fork, PROTECTED) == expected


def test_the_job_carries_the_identity_of_its_run():
    config = GitOpsConfig()
    merged = build_job(_run(Pipeline.TERRAFORM_APPLY, MAIN, MAIN), config, AWS_SETTINGS, "u")
    commented = build_job(_run(Pipeline.TERRAFORM_APPLY, FEATURE, MAIN), config, AWS_SETTINGS, "u")
    fork = _run(Pipeline.TERRAFORM_APPLY, MAIN, MAIN, from_fork=True)
    plan = build_job(_run(Pipeline.TERRAFORM_PLAN, FEATURE, MAIN), config, AWS_SETTINGS, "u")
    assert (merged.identity, commented.identity, plan.identity) == ("apply", "plan", "plan")
    assert build_job(fork, config, AWS_SETTINGS, "u").identity == "plan"
    # A job that says nothing (an older controller's) is a plan job.
    bare = plan.model_dump(exclude={"identity"})
    assert JobSpec.model_validate(bare).identity == "plan"


# --- the start calls -----------------------------------------------------------------------


def _captured(client, operation: str) -> list[dict]:
    """The parameters of every ``operation`` call as botocore sends them."""
    calls: list[dict] = []
    client.meta.events.register(
        f"provide-client-params.{client.meta.service_model.service_name}.{operation}",
        lambda params, **_: calls.append(dict(params)),
    )
    return calls


@mock_aws
def test_codebuild_starts_each_run_under_its_identity():
    client = boto3.client("codebuild")
    client.create_project(
        name="maestrops-prod-runner",
        source={"type": "S3", "location": "maestrops-artifacts/runner.zip"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "maestrops-runner:0.1.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
        serviceRole=PLAN_ROLE,
    )
    calls = _captured(client, "StartBuild")
    backend = CodeBuildBackend("maestrops-prod-runner", client, roles=ROLES)
    config = GitOpsConfig()
    runs = [
        _run(Pipeline.TERRAFORM_PLAN, FEATURE, MAIN),
        _run(Pipeline.TERRAFORM_APPLY, MAIN, MAIN),
        _run(Pipeline.TERRAFORM_APPLY, FEATURE, MAIN),  # maestro apply before the merge
        _run(Pipeline.ANSIBLE_MONITORING, MAIN, MAIN),
    ]
    refs = [backend.start(build_job(run, config, AWS_SETTINGS, "u")) for run in runs]
    assert [c["serviceRoleOverride"] for c in calls] == [
        PLAN_ROLE, APPLY_ROLE, PLAN_ROLE, APPLY_ROLE,
    ]  # fmt: skip
    built = client.batch_get_builds(ids=[r.id for r in refs])["builds"]
    assert len(built) == 4 and all(b["projectName"] == "maestrops-prod-runner" for b in built)


@mock_aws
def test_codebuild_without_an_apply_role_leaves_the_projects_own_role():
    """An apply never borrows the plan role by name; without its ARN the build keeps the
    project's role, which terraform/controller makes the plan identity."""
    client = boto3.client("codebuild")
    calls = _captured(client, "StartBuild")
    backend = CodeBuildBackend("p", client, roles={"plan": PLAN_ROLE, "apply": ""})
    job = build_job(_run(Pipeline.TERRAFORM_APPLY, MAIN, MAIN), GitOpsConfig(), AWS_SETTINGS, "u")
    with pytest.raises(Exception, match="StartBuild"):
        backend.start(job)  # no such project in moto: the request is what matters
    assert "serviceRoleOverride" not in calls[0]


@mock_aws
def test_ecs_starts_each_run_under_its_identity():
    client = boto3.client("ecs")
    client.create_cluster(clusterName="maestrops-prod-runners")
    client.register_task_definition(
        family="maestrops-prod-runner",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="1024",
        memory="2048",
        taskRoleArn=PLAN_ROLE,
        containerDefinitions=[
            {"name": "runner", "image": "maestrops-runner:0.1.0", "cpu": 1024, "memory": 2048}
        ],
    )
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    # moto names a task's network interface only in a VPC with DNS host names (as AWS does).
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="runner", Description="r", VpcId=vpc)["GroupId"]
    settings = AWS_SETTINGS.model_copy(
        update={
            "ecs_cluster": "maestrops-prod-runners",
            "ecs_task_definition": "maestrops-prod-runner",
            "ecs_subnets": [subnet],
            "ecs_security_groups": [group],
        }
    )
    backend = EcsBackend.from_settings(settings)
    backend._client = client
    config = GitOpsConfig()
    seen = []
    for run in (
        _run(Pipeline.TERRAFORM_APPLY, MAIN, MAIN),
        _run(Pipeline.TERRAFORM_PLAN, FEATURE, MAIN),
        _run(Pipeline.CD_APPLICATION, "deployment", "deployment"),
    ):
        ref = backend.start(build_job(run, config, settings, "u"))
        task = client.describe_tasks(cluster="maestrops-prod-runners", tasks=[ref.id])["tasks"][0]
        seen.append(task["overrides"]["taskRoleArn"])
        assert task["overrides"]["containerOverrides"][0]["name"] == "runner"
    assert seen == [APPLY_ROLE, PLAN_ROLE, APPLY_ROLE]


def test_settings_carry_the_two_roles_from_the_lambda_environment():
    settings = Settings.from_env(
        {
            "MAESTRO_RUNNER_PLAN_ROLE_ARN": PLAN_ROLE,
            "MAESTRO_RUNNER_APPLY_ROLE_ARN": APPLY_ROLE,
            "MAESTRO_STATE_BUCKET": "b",
            "MAESTRO_STATE_LOCK_TABLE": "t",
        }
    )
    assert CodeBuildBackend.from_settings(settings).roles == ROLES
    assert EcsBackend.from_settings(settings).roles == ROLES
    assert (settings.state_bucket, settings.state_lock_table) == ("b", "t")


# --- the state backend ---------------------------------------------------------------------


def _params(job: JobSpec, kind: str) -> dict:
    return next(step.params for step in job.steps if step.kind == kind)


def test_aws_jobs_init_the_controllers_state_backend_and_plan_unlocked():
    run = _run(Pipeline.TERRAFORM_PLAN, FEATURE, MAIN)
    for _ in range(2):  # the same job from the same run and config, every time
        job = build_job(run, GitOpsConfig(), AWS_SETTINGS, "u")
        assert _params(job, "terraform_init")["backend_config"] == {
            "bucket": "maestrops-tfstate-123456789012",
            "key": "stacks/acme/infra/terraform/infra/default.tfstate",
            "region": "eu-west-1",
            "dynamodb_table": "maestrops-tfstate-locks",
            "encrypt": "true",
        }
        assert _params(job, "terraform_plan")["lock"] is False
    apply = build_job(_run(Pipeline.TERRAFORM_APPLY, MAIN, MAIN), GitOpsConfig(), AWS_SETTINGS, "u")
    assert "lock" not in _params(apply, "terraform_apply")
    validate = build_job(_run(Pipeline.TERRAFORM_VALIDATE, FEATURE, None), GitOpsConfig(),
                         AWS_SETTINGS, "u")  # fmt: skip
    assert "backend_config" not in _params(validate, "terraform_init")


def test_the_state_key_follows_dir_workspace_and_gitops_yml():
    run = _run(Pipeline.TERRAFORM_APPLY, MAIN, MAIN)
    config = parse_config("terraform: {dir: stacks/net, workspace: staging}")
    job = build_job(run, config, AWS_SETTINGS, "u")
    key = _params(job, "terraform_init")["backend_config"]["key"]
    assert key == "stacks/acme/infra/stacks/net/staging.tfstate"
    config = parse_config("terraform: {backend: {key: prod/network.tfstate}}")
    key = _params(build_job(run, config, AWS_SETTINGS, "u"), "terraform_init")["backend_config"]
    assert key["key"] == "stacks/acme/infra/prod/network.tfstate"


def test_local_mode_keeps_its_local_backend():
    settings = Settings(local_data_dir="/tmp/maestro", state_bucket="ignored")
    job = build_job(_run(Pipeline.TERRAFORM_PLAN, FEATURE, MAIN), GitOpsConfig(), settings, "u")
    assert "backend_config" not in _params(job, "terraform_init")
    assert "lock" not in _params(job, "terraform_plan")


def test_without_a_state_bucket_jobs_pass_no_backend_config():
    settings = AWS_SETTINGS.model_copy(update={"state_bucket": ""})
    job = build_job(_run(Pipeline.TERRAFORM_PLAN, FEATURE, MAIN), GitOpsConfig(), settings, "u")
    assert "backend_config" not in _params(job, "terraform_init")


@pytest.mark.parametrize(
    "key",
    [
        "../controller/prod/terraform.tfstate",
        "/controller/prod/terraform.tfstate",
        "a//b.tfstate",
        "a/./b.tfstate",
        ".hidden",
        "a/../../b",
        "with space.tfstate",
        "nul\x00byte",
        "back\\slash",
        "k" * 513,
        "",
        "ünïcode.tfstate",
    ],
)
def test_a_hostile_state_key_is_refused_by_name(key):
    with pytest.raises(ConfigError, match=r"terraform\.backend\.key"):
        parse_config_dict({"terraform": {"backend": {"key": key}}})


def parse_config_dict(data: dict) -> GitOpsConfig:
    return parse_config(json.dumps(data))  # JSON is YAML: the same parser as .gitops.yml


@pytest.mark.parametrize("field", ["bucket", "dynamodb_table", "role_arn", "endpoint"])
def test_gitops_yml_cannot_choose_the_bucket_or_credentials(field):
    with pytest.raises(ConfigError, match=rf"terraform\.backend\.{field}"):
        parse_config_dict({"terraform": {"backend": {field: "attacker"}}})


# --- the Infracost key ---------------------------------------------------------------------


@mock_aws
def test_the_cost_step_reads_the_infracost_key_itself():
    boto3.client("secretsmanager").create_secret(
        Name="maestrops/prod/infracost-api-key", SecretString="ico-key-value\n"
    )
    env = {ENV_INFRACOST_SECRET: "maestrops/prod/infracost-api-key", "PATH": "/bin"}
    for _ in range(2):
        assert infracost_env(env) == ({"INFRACOST_API_KEY": "ico-key-value"}, None)
    assert "INFRACOST_API_KEY" not in env  # fetched for the infracost process only
    missing = {ENV_INFRACOST_SECRET: "maestrops/prod/nothing"}
    key_env, reason = infracost_env(missing)
    assert key_env == {} and reason and "ResourceNotFoundException" in reason
    assert infracost_env({}) == ({}, None)
    assert infracost_env({"INFRACOST_API_KEY": "local"}) == ({"INFRACOST_API_KEY": "local"}, None)


# --- the managed-account role --------------------------------------------------------------


def _context(tmp_path, identity: str, env: dict[str, str], local: bool = False) -> RunContext:
    job = JobSpec(
        run_id="run-1",
        pipeline="terraform-apply" if identity == "apply" else "terraform-plan",
        repo="acme/infra",
        clone_url="u",
        sha=SHA,
        run_number=1,
        steps=[],
        artifact_prefix="s3://b/runs/run-1/",
        identity=identity,
        callback={"local_dir": str(tmp_path / "events")} if local else {},
    )
    return RunContext(job, tmp_path, tmp_path, None, None, env)  # type: ignore[arg-type]


MANAGED_ENV = {
    "MAESTRO_MANAGED_PLAN_ROLE_ARN": "arn:aws:iam::210987654321:role/maestrops-read",
    "MAESTRO_MANAGED_APPLY_ROLE_ARN": "arn:aws:iam::210987654321:role/maestrops-deploy",
}


def test_terraform_assumes_the_managed_role_of_the_runs_identity(tmp_path):
    """Written for every command, so an apply of a plan made as the plan role runs as the
    apply role; the provider reads the profile, the state backend keeps the runner's own."""
    for identity, role in (("plan", "maestrops-read"), ("apply", "maestrops-deploy")) * 2:
        env = managed_account_env(_context(tmp_path, identity, MANAGED_ENV))
        assert env["TF_VAR_aws_profile"] == "maestrops-managed"
        profile = configparser.ConfigParser()
        profile.read(env["AWS_CONFIG_FILE"])
        section = profile["profile maestrops-managed"]
        assert section["role_arn"] == f"arn:aws:iam::210987654321:role/{role}"
        assert section["credential_source"] == "EcsContainer"
    assert managed_account_env(_context(tmp_path, "apply", {})) == {}
    assert managed_account_env(_context(tmp_path, "plan", MANAGED_ENV, local=True)) == {}
    hostile = {"MAESTRO_MANAGED_PLAN_ROLE_ARN": "arn:aws:iam::1:role/x\ncredential_process=sh"}
    with pytest.raises(StepFailedError, match="not an IAM role ARN"):
        managed_account_env(_context(tmp_path, "plan", hostile))
