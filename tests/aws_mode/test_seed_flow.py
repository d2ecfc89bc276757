"""The seed's flow in AWS mode, end to end on moto: ``make test-aws`` (never ``make test``).

1. ``scripts/deploy.py`` (``make deploy``) applies terraform/bootstrap and terraform/controller
   to moto and packages the functions with the controller's stage config.
2. The packaged functions run in a clean Lambda-like Python, configured only from the
   controller's ``lambda_environment`` output, fed the events AWS would deliver: the webhook as
   an API Gateway proxy event signed with the secret held in moto's Secrets Manager, the FIFO
   queue's messages as an SQS batch, runner events as EventBridge delivered them.
3. Runners run as deployed (tests/aws_mode/executor.py): from the StartBuild call moto
   recorded, under the identity that call names, with moto enforcing IAM.
4. A pull request plans a stack whose state lives in the bootstrap's bucket (the null-provider
   stack of terraform/examples/null-stack with an ``s3`` backend; the AWS provider's stack
   would need moto to play EC2 for the runner's plan identity), the plan comment reaches the
   fake GitHub, the merge applies the reviewed plan; a second pull request whose apply fails
   raises ``DeployFailed`` as the deploy-failed alarm watches it.
5. A merge from integration into deployment runs cd-application as the apply identity: its
   SendCommand reaches the app host found by tag, the test plays that host (bash runs the
   command, moto_host's SSM patch reports its outcome) and a failing health check fails the
   run with ``DeployFailed``.

Each test is a stage and relies on the ones before it (module-scoped state, in file order).
"""

from __future__ import annotations

import base64
import copy
import itertools
import json
import secrets
import shlex
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from chalicelib.jobs import JobSpec
from tests.gitrepo import commit_files, git
from tests.payloads import pull_request, push

from .conftest import GITHUB_REPO, REGION, STAGE, start_recording
from .executor import Executor
from .iam_audit import allows, dynamodb_requests
from .lambdas import ACCOUNT, Lambdas

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
NULL_STACK = REPO / "terraform" / "examples" / "null-stack"
GITOPS = """\
version: 1
terraform:
  dir: terraform/infra
  main_branch: infra_main
pipelines:
  terraform-validate: {backend: ecs}
  ansible-monitoring: {backend: ssm}
"""
RUNNER_HOST = "i-0a1b2c3d4e5f60718"  # terraform/controller's ssm_runner_instance_ids
FAILING_RESOURCE = """
resource "null_resource" "release_gate" {
  triggers = { release = var.release }

  provisioner "local-exec" {
    command = "echo release gate refused >&2; exit 3"
  }
}
"""


def backend_block(endpoint: str) -> str:
    """The stack's partial S3 backend. The controller gives bucket, key, region and lock table
    (-backend-config); Terraform 1.0's backend predates AWS_ENDPOINT_URL, so the repository
    names moto's endpoint itself."""
    return (
        "terraform {\n"
        '  backend "s3" {\n'
        f'    endpoint                    = "{endpoint}"\n'
        f'    dynamodb_endpoint           = "{endpoint}"\n'
        f'    sts_endpoint                = "{endpoint}"\n'
        f'    iam_endpoint                = "{endpoint}"\n'
        "    force_path_style            = true\n"
        "    skip_credentials_validation = true\n"
        "    skip_metadata_api_check     = true\n"
        "  }\n"
        "}\n"
    )


class Flow:
    """The deployed controller and what plays AWS around it."""

    def __init__(self, moto, github, deployed, lambdas: Lambdas, executor: Executor, origin):  # type: ignore[no-untyped-def]
        self.moto, self.github, self.fake = moto, github, github["fake"]
        self.deployed, self.lambdas, self.executor = deployed, lambdas, executor
        self.origin = origin  # the repository's working copy; ``clone`` is its bare remote
        self.clone = origin.parent / "infra.git"
        self.outputs = deployed["controller"]
        self.environment = self.outputs["lambda_environment"]
        self.secret = ""
        self.capture_url = ""
        self.ssm_calls: list[dict[str, Any]] = []

    def aws(self, service: str) -> Any:
        return self.moto["client"](service)

    # -- GitHub's side -----------------------------------------------------------------------
    def push(self, branch: str, files: dict[str, str], message: str) -> str:
        """Commit ``files`` on ``branch`` (made from infra_main when new) and push it."""
        if not (self.origin / ".git").exists():
            self.origin.mkdir(parents=True)
            git(self.origin, "init", "-q", "-b", branch)
        elif branch != git(self.origin, "branch", "--show-current"):
            git(self.origin, "checkout", "-q", "-B", branch, "infra_main")
        sha = commit_files(self.origin, files, message)
        git(self.origin, "push", "-q", "--force", str(self.clone), f"{branch}:{branch}")
        gitops = git(self.origin, "show", f"{sha}:.gitops.yml")
        self.fake.add_commit(GITHUB_REPO, sha, {".gitops.yml": gitops + "\n"})
        return sha

    def merge(self, branch: str) -> None:
        """What GitHub's merge button leaves in the repository: the branch in infra_main."""
        git(self.origin, "checkout", "-q", "infra_main")
        git(self.origin, "merge", "-q", "--ff-only", branch)
        git(self.origin, "push", "-q", str(self.clone), "infra_main:infra_main")

    def pr_payload(self, action: str, sha: str, number: int, head: str, merged: bool = False):  # type: ignore[no-untyped-def]
        payload = pull_request(
            action, head, "infra_main", sha=sha, number=number, merged=merged, repo=GITHUB_REPO
        )
        payload["repository"]["clone_url"] = str(self.clone)
        return payload

    def deliver(self, event: str, payload: dict[str, Any], delivery: str | None = None) -> Any:
        answer = self.lambdas.webhook(event, payload, self.secret, delivery or str(uuid.uuid4()))
        assert answer["statusCode"] in (200, 202), (answer, self.lambdas.stdout[-1][-4000:])
        return answer

    # -- AWS's side --------------------------------------------------------------------------
    def drain_queue(self) -> int:
        """The FIFO queue's messages to dispatch_events, as the event source mapping does."""
        sqs, url = self.aws("sqs"), self.environment["MAESTRO_QUEUE_URL"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        handled = 0
        while True:
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not messages:
                return handled
            answer = self.lambdas.sqs_batch(arn, messages)
            assert answer == {"batchItemFailures": []}, answer
            for m in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            handled += len(messages)

    def run_runners(self) -> list[Any]:
        """CodeBuild builds and ECS tasks run; SendCommand calls are kept: moto has no
        instance to run them on, and the playbook's SSM sessions (StartSession) are beyond it."""
        done = []
        for call in self.executor.pending():
            if call.service == "ssm":
                self.ssm_calls.append(call.body)
                continue
            if call.service == "ecs":
                done.append(self.executor.run(self.executor.from_ecs(call.body)))
                continue
            assert call.service == "codebuild", call
            done.append(self.executor.run(self.executor.from_codebuild(call.body)))
        return done

    def deliver_runner_events(self) -> int:
        """Runner events, as the deployed rule matched them, to on_runner_event."""
        sqs = self.aws("sqs")
        events = []
        while True:
            batch = sqs.receive_message(QueueUrl=self.capture_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not batch:
                break
            for m in batch:
                event = json.loads(m["Body"])
                # moto 5.2.5 leaves the account out of what it sends to a queue target;
                # EventBridge always sets it (the bus's account), and Chalice requires it.
                event.setdefault("account", ACCOUNT)
                events.append(event)
                sqs.delete_message(QueueUrl=self.capture_url, ReceiptHandle=m["ReceiptHandle"])
        events.sort(key=lambda e: (e["detail"].get("run_id", ""), e["detail"].get("sequence", 0)))
        for event in events:
            self.lambdas.invoke("on_runner_event", event)
        return len(events)

    def settle(self) -> list[Any]:
        """Queue, runners and events until nothing moves; the runners that ran."""
        ran: list[Any] = []
        for _ in range(10):
            moved = self.drain_queue()
            executions = self.run_runners()
            ran += executions
            moved += len(executions) + self.deliver_runner_events()
            if not moved:
                return ran
        raise AssertionError("the flow did not settle")

    # -- records -------------------------------------------------------------------------------
    def runs(self) -> list[dict[str, Any]]:
        from boto3.dynamodb.types import TypeDeserializer

        plain = TypeDeserializer()
        items = self.aws("dynamodb").scan(TableName=self.environment["MAESTRO_TABLE"])["Items"]
        records = [{k: plain.deserialize(v) for k, v in i.items()} for i in items]
        return [r for r in records if r.get("sk") == "RUN"]

    def run_of(self, pipeline: str, pr: int) -> dict[str, Any]:
        found = [r for r in self.runs() if r["pipeline"] == pipeline and r.get("pr") == pr]
        assert len(found) == 1, [(r["pipeline"], r.get("pr"), r["status"]) for r in self.runs()]
        return found[0]

    def artifact_keys(self, run_id: str) -> set[str]:
        bucket = self.environment["MAESTRO_ARTIFACTS_BUCKET"]
        listed = self.aws("s3").list_objects_v2(Bucket=bucket, Prefix=f"runs/{run_id}/")
        return {o["Key"].removeprefix(f"runs/{run_id}/") for o in listed.get("Contents", [])}


@pytest.fixture(scope="module")
def flow(moto, github, deployed, runtime_python, task_dir, app_key, tmp_path_factory) -> Flow:  # type: ignore[no-untyped-def]
    return build_flow(
        moto, github, deployed, runtime_python, task_dir, app_key, tmp_path_factory.mktemp("flow")
    )


def build_flow(moto, github, deployed, runtime_python, task_dir, app_key, tmp: Path) -> Flow:  # type: ignore[no-untyped-def]
    outputs = deployed["controller"]
    package = json.loads((Path(deployed["package"]) / "chalice.tf.json").read_text())
    functions = package["resource"]["aws_lambda_function"]
    env = {
        **outputs["lambda_environment"],
        # What the Lambda service adds: region, credentials, and here moto's endpoint; the
        # fake GitHub's certificate stands where the runtime's CA bundle is.
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": moto["endpoint"],
        "SSL_CERT_FILE": str(github["ca"]),
        "LANG": "C.UTF-8",
    }
    executor = Executor(moto["endpoint"], moto["client"], moto["recording"], tmp / "runners")
    lambdas = Lambdas(
        runtime_python,
        task_dir,
        {name: f["handler"] for name, f in functions.items()},
        outputs["lambda_function_names"],
        env,
        tmp,
        roles=outputs["lambda_role_arns"],
        identities=executor,
    )
    origin = tmp / "origin"
    subprocess.run(["git", "init", "-q", "--bare", str(tmp / "infra.git")], check=True)
    flow = Flow(moto, github, deployed, lambdas, executor, origin)

    # docs/deploy.md steps 3 and 5: the webhook secret and the App's key, by hand.
    names = outputs["secret_names"]
    flow.secret = secrets.token_hex(32)
    sm = flow.aws("secretsmanager")
    sm.put_secret_value(SecretId=names["webhook-secret"], SecretString=flow.secret)
    sm.put_secret_value(SecretId=names["github-app"], SecretString=app_key[0])

    # EventBridge invokes on_runner_event through the rule Chalice deploys; moto cannot run a
    # Lambda function without Docker, so the same pattern (read from the package) feeds a queue.
    [rule] = [
        r
        for r in package["resource"]["aws_cloudwatch_event_rule"].values()
        if "on_runner_event" in r["name"]
    ]
    sqs, events = flow.aws("sqs"), flow.aws("events")
    flow.capture_url = sqs.create_queue(QueueName="runner-events-capture")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=flow.capture_url, AttributeNames=["QueueArn"])
    events.put_rule(Name="runner-events-capture", EventPattern=rule["event_pattern"])
    events.put_targets(
        Rule="runner-events-capture", Targets=[{"Id": "q", "Arn": arn["Attributes"]["QueueArn"]}]
    )
    start_recording(moto["endpoint"])
    return flow


def stack_files(endpoint: str, extra: str = "") -> dict[str, str]:
    files = {".gitops.yml": GITOPS}
    for path in NULL_STACK.glob("*.tf"):
        files[f"terraform/infra/{path.name}"] = path.read_text()
    for path in (NULL_STACK / "templates").glob("*"):
        files[f"terraform/infra/templates/{path.name}"] = path.read_text()
    files["terraform/infra/backend.tf"] = backend_block(endpoint)
    if extra:
        files["terraform/infra/gate.tf"] = extra
    return files


def put_emf_metrics(flow: Flow) -> Any:
    """CloudWatch Logs extracts EMF metrics from the functions' output; moto does not, so the
    test does it: each EMF document becomes the PutMetricData it stands for."""
    cloudwatch = flow.aws("cloudwatch")
    for document in flow.lambdas.metrics():
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric, dimension_set in itertools.product(
                directive["Metrics"], directive["Dimensions"]
            ):
                values = document[metric["Name"]]
                for value in values if isinstance(values, list) else [values]:
                    dimensions = [{"Name": d, "Value": str(document[d])} for d in dimension_set]
                    datum = {
                        "MetricName": metric["Name"],
                        "Dimensions": dimensions,
                        "Value": float(value),
                        "Unit": metric.get("Unit", "None"),
                    }
                    cloudwatch.put_metric_data(Namespace=directive["Namespace"],
                                               MetricData=[datum])  # fmt: skip
    return cloudwatch


# ---- stage 1: the deploy command ------------------------------------------------------------


def test_the_deploy_command_applies_bootstrap_and_controller(moto, deployed) -> None:
    outputs = deployed["controller"]
    env = outputs["lambda_environment"]
    s3, dynamodb = moto["client"]("s3"), moto["client"]("dynamodb")
    state = deployed["bootstrap"]["state_bucket"]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=state)["Contents"]}
    assert f"controller/{STAGE}/terraform.tfstate" in keys  # the controller's state is remote
    backend = (deployed["root"] / "terraform/controller/environments/prod.s3.tfbackend").read_text()
    assert f'bucket         = "{state}"' in backend
    assert env["MAESTRO_STATE_BUCKET"] == state
    tables = set(dynamodb.list_tables()["TableNames"])
    assert {env["MAESTRO_TABLE"], env["MAESTRO_IDEMPOTENCY_TABLE"]} <= tables
    project = moto["client"]("codebuild").batch_get_projects(
        names=[env["MAESTRO_CODEBUILD_PROJECT"]]
    )["projects"][0]
    assert "python -m runners run --job env" in project["source"]["buildspec"]
    # The package carries the controller's names: the stage config reached chalice package.
    package = json.loads((Path(deployed["package"]) / "chalice.tf.json").read_text())
    api = package["resource"]["aws_lambda_function"]["api_handler"]
    assert api["environment"]["variables"]["MAESTRO_QUEUE_URL"] == env["MAESTRO_QUEUE_URL"]
    assert api["role"] == outputs["lambda_role_arns"]["api_handler"]
    [deny] = deployed["artifacts_policy"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# ---- stage 2-4: pull request, plan, comment ---------------------------------------------------


def test_a_pull_request_is_planned_by_a_codebuild_runner_as_the_plan_identity(flow: Flow) -> None:
    endpoint = flow.moto["endpoint"]
    flow.push("infra_main", stack_files(endpoint), "the stack")
    sha = flow.push(
        "infra_features", {"terraform/infra/README.md": "hosts\n"}, "describe the stack"
    )
    flow.deliver("pull_request", flow.pr_payload("opened", sha, 1, "infra_features"))

    ran = flow.settle()
    assert [e.service for e in ran] == ["codebuild"], [e.output[-2000:] for e in ran]
    [execution] = ran
    assert execution.returncode == 0, execution.output[-4000:]
    assert execution.role_arn == flow.outputs["runner_role_arns"]["plan"]
    # Exactly the variables the build had (the project's, the call's overrides, CodeBuild's
    # region), the image's, and the endpoint and the identity's keys: none of the test's.
    project = flow.aws("codebuild").batch_get_projects(
        names=[flow.environment["MAESTRO_CODEBUILD_PROJECT"]]
    )["projects"][0]
    build = {v["name"] for v in project["environment"]["environmentVariables"]}
    build |= {"MAESTRO_JOB", "MAESTRO_RUN_ID", "AWS_REGION"}
    added = {"HOME", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    expected = build | added | set(flow.executor.image_env())
    assert set(execution.env) == expected, set(execution.env) ^ expected

    plan = flow.run_of("terraform-plan", 1)
    assert plan["status"] == "succeeded", plan.get("error")
    assert plan["sha"] == sha and execution.run_id == plan["id"]
    assert {"plan.tfplan", "plan.json", "plan-summary.json"} <= flow.artifact_keys(plan["id"])
    [comment] = flow.fake.thread_bodies(GITHUB_REPO, 1)
    assert "null_resource.host" in comment and "to add" in comment
    states = [s["state"] for s in flow.fake.statuses if s["sha"] == sha]
    assert states[0] == "pending" and states[-1] == "success"


def test_the_plan_identity_cannot_write_the_state(flow: Flow) -> None:
    """The IAM enforcement is real: the plan identity's keys cannot write the state bucket."""
    import boto3
    from botocore.exceptions import ClientError

    [execution] = [e for e in flow.executor.executions if e.role_arn.endswith("-runner-plan")]
    s3 = boto3.client(
        "s3",
        endpoint_url=flow.moto["endpoint"],
        region_name=REGION,
        aws_access_key_id=execution.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=execution.env["AWS_SECRET_ACCESS_KEY"],
    )
    bucket = flow.deployed["bootstrap"]["state_bucket"]
    flow.executor.enforce_iam(True)
    try:
        with pytest.raises(ClientError) as refused:
            s3.put_object(Bucket=bucket, Key="stacks/acme/infra/x.tfstate", Body=b"{}")
    finally:
        flow.executor.enforce_iam(False)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_a_redelivered_webhook_starts_nothing(flow: Flow) -> None:
    """GitHub redelivers with the same delivery id: the idempotency table answers, no run."""
    sha = git(flow.origin, "rev-parse", "infra_features")
    payload = flow.pr_payload("opened", sha, 1, "infra_features")
    delivery = str(uuid.uuid4())
    first = flow.deliver("pull_request", payload, delivery)
    assert json.loads(first["body"])["message"] == "queued"
    flow.settle()
    before = len(flow.runs())
    again = flow.deliver("pull_request", copy.deepcopy(payload), delivery)
    assert json.loads(again["body"])["message"] == "duplicate delivery"
    assert flow.settle() == []
    assert len(flow.runs()) == before


# ---- stage 4: merge and apply -----------------------------------------------------------------


def test_the_merge_applies_the_reviewed_plan_as_the_apply_identity(flow: Flow) -> None:
    plan = [r for r in flow.runs() if r["pipeline"] == "terraform-plan" and r.get("pr") == 1]
    newest = max(plan, key=lambda r: r.get("created_at", ""))
    sha = newest["sha"]
    flow.merge("infra_features")
    flow.deliver("pull_request", flow.pr_payload("closed", sha, 1, "infra_features", merged=True))
    ran = flow.settle()
    assert [e.returncode for e in ran] == [0], [e.output[-3000:] for e in ran]
    assert ran[0].role_arn == flow.outputs["runner_role_arns"]["apply"]

    apply = flow.run_of("terraform-apply", 1)
    assert apply["status"] == "succeeded", apply.get("error")
    assert apply["plan_run_id"] == newest["id"]
    outputs = apply["outputs"]
    outputs = json.loads(outputs) if isinstance(outputs, str) else outputs  # stored as JSON
    assert outputs["hosts"]["monitoring"][0]["name"] == "monitoring-1"
    # The state is in the bootstrap's bucket, under the controller's key for the repository.
    s3 = flow.aws("s3")
    key = "stacks/acme/infra/terraform/infra/default.tfstate"
    state = json.loads(
        s3.get_object(Bucket=flow.deployed["bootstrap"]["state_bucket"], Key=key)["Body"].read()
    )
    assert {r["type"] for r in state["resources"]} == {"null_resource"}
    assert any("succeeded" in body for body in flow.fake.thread_bodies(GITHUB_REPO, 1)[1:])

    # The apply chained ansible-monitoring, which .gitops.yml sends to the SSM runner host.
    monitoring = flow.run_of("ansible-monitoring", 1)
    assert monitoring["status"] == "dispatched" and monitoring["sha"] == sha
    [call] = flow.ssm_calls
    assert call["DocumentName"] == "AWS-RunShellScript"
    assert call["InstanceIds"] == [RUNNER_HOST]
    assert call["OutputS3BucketName"] == flow.environment["MAESTRO_ARTIFACTS_BUCKET"]
    execution = flow.executor.from_ssm(call, instance_role="")
    assert execution.run_id == monitoring["id"]
    commands = call["Parameters"]["commands"]
    # What the document runs on the host: the job in the environment, then the runner.
    assert commands[-2:] == [
        "cd /opt/maestrops",
        "/opt/maestrops/.venv/bin/python -m runners run --job env",
    ]
    exported = dict(shlex.split(c)[1].split("=", 1) for c in commands if c.startswith("export "))
    job = JobSpec.model_validate_json(base64.b64decode(exported["MAESTRO_JOB"]))
    assert (job.pipeline, job.sha, job.backend) == ("ansible-monitoring", sha, "ssm")
    assert "ansible_playbook" in [step.kind for step in job.steps]
    listed = flow.aws("ssm").list_commands(CommandId=monitoring["runner_ref"])["Commands"]
    assert [c["DocumentName"] for c in listed] == ["AWS-RunShellScript"]


# ---- stage 5: a failing deploy raises the alarm's metric ---------------------------------------


def test_a_failing_apply_puts_deploy_failed_where_the_alarm_watches(flow: Flow) -> None:
    sha = flow.push(
        "infra_features",
        {"terraform/infra/gate.tf": FAILING_RESOURCE},
        "a release gate that refuses",
    )
    flow.deliver("pull_request", flow.pr_payload("opened", sha, 2, "infra_features"))
    flow.settle()
    assert flow.run_of("terraform-plan", 2)["status"] == "succeeded"
    flow.merge("infra_features")
    flow.deliver("pull_request", flow.pr_payload("closed", sha, 2, "infra_features", merged=True))
    ran = flow.settle()
    assert [e.role_arn for e in ran] == [flow.outputs["runner_role_arns"]["apply"]]
    apply = flow.run_of("terraform-apply", 2)
    assert (apply["status"], apply["failed_step"]) == ("failed", "apply")
    assert "release gate refused" in flow.fake.thread_bodies(GITHUB_REPO, 2)[-1]

    cloudwatch = put_emf_metrics(flow)
    [alarm] = [
        a
        for a in cloudwatch.describe_alarms()["MetricAlarms"]
        if a["AlarmName"].endswith("deploy-failed")
    ]
    watched = cloudwatch.list_metrics(
        Namespace=alarm["Namespace"],
        MetricName=alarm["MetricName"],
        Dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in alarm["Dimensions"]],
    )["Metrics"]
    assert watched, (alarm, flow.lambdas.metrics()[-3:])
    failed = [d for d in flow.lambdas.metrics() if "DeployFailed" in d]
    assert len(failed) == 1, flow.lambdas.metrics()[-5:]
    [service] = [d["Value"] for d in alarm["Dimensions"] if d["Name"] == "service"]
    assert failed[0]["service"] == service


# ---- the schedules on the state the flow left ------------------------------------------------


def test_the_schedules_leave_in_flight_and_finished_runs_alone(flow: Flow) -> None:
    """The reaper, the lock sweep and the feedback flush, as their schedules call them: nothing
    is overdue (the monitoring run waits on its SSM host within its timeout), no lock is
    stale, no comment is held back by GitHub's write budget."""
    before = {r["id"]: r["status"] for r in flow.runs()}
    for function in ("reap_stuck_runs", "sweep_locks", "flush_feedback"):
        flow.lambdas.scheduled(function)
    assert {r["id"]: r["status"] for r in flow.runs()} == before
    assert flow.run_of("ansible-monitoring", 1)["status"] == "dispatched"
    assert flow.settle() == []


# ---- a push on the feature branch: terraform-validate as a Fargate task -------------------------


def test_a_push_is_validated_by_a_fargate_task_as_the_plan_identity(flow: Flow) -> None:
    sha = flow.push("infra_features", {"terraform/infra/NOTES.md": "day two\n"}, "notes")
    payload = push("infra_features", sha=sha, message="notes", repo=GITHUB_REPO)
    payload["repository"]["clone_url"] = str(flow.clone)
    flow.deliver("push", payload)
    ran = flow.settle()
    assert [(e.service, e.returncode) for e in ran] == [("ecs", 0)], [e.output[-3000:] for e in ran]
    [execution] = ran
    # The task definition's command, overridden by the same one; the plan identity's role.
    assert execution.commands == ["python -m runners run --job env"]
    assert execution.role_arn == flow.outputs["runner_role_arns"]["plan"]
    [validate] = [r for r in flow.runs() if r["pipeline"] == "terraform-validate"]
    assert (validate["status"], validate["sha"], validate["backend"]) == ("succeeded", sha, "ecs")
    task = flow.aws("ecs").describe_tasks(
        cluster=flow.environment["MAESTRO_ECS_CLUSTER"], tasks=[validate["runner_ref"]]
    )["tasks"][0]
    assert task["launchType"] == "FARGATE"
    assert any(s["state"] == "success" and s["sha"] == sha for s in flow.fake.statuses)


# ---- the application's deploy: cd-application over SSM to the app hosts ------------------------

APP_FILES = {
    "app/docker-compose.yml": "services:\n  web:\n    image: nginx\n",
    "app/traefik/dynamic/routes.yml": "http:\n  routers: {}\n",
}
DEFAULT_APP_DIR = "'--app-dir' '/opt/maestrops/app'"
DEFAULT_HEALTH_URL = "'--health-url' 'https://127.0.0.1/api/health'"


class AppHost:
    """An app host for the deploy's SSM command: moto holds the instance (tagged as
    terraform/infra tags its app hosts, ``Role=app``), bash runs what the command carries,
    with the docker and aws stand-ins of the runner's own tests on PATH, the host's
    /opt/maestrops/app in a temporary directory and the backend answering on loopback."""

    def __init__(self, flow: Flow, folder: Path) -> None:
        from tests.integration.runners.test_compose_deploy_script import AWS, DOCKER
        from tests.integration.runners.test_deploy_over_ssm import _server

        self.flow, self.folder = flow, folder
        ec2 = flow.aws("ec2")
        tags = [{"ResourceType": "instance", "Tags": [{"Key": "Role", "Value": "app"}]}]
        started = ec2.run_instances(
            ImageId="ami-12c6146b", MinCount=1, MaxCount=1, TagSpecifications=tags
        )
        self.instance = started["Instances"][0]["InstanceId"]
        other = [{"ResourceType": "instance", "Tags": [{"Key": "Role", "Value": "monitoring"}]}]
        ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, TagSpecifications=other)
        self.bin = folder / "bin"
        self.bin.mkdir(parents=True)
        for name, body in (("docker", DOCKER), ("aws", AWS)):
            (self.bin / name).write_text(body)
            (self.bin / name).chmod(0o755)
        self.app_dir = folder / "opt-maestrops-app"
        self.record = folder / "record"
        self.server, self.backend = _server()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def run(self, sent: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        """The command as AWS-RunShellScript runs it: its lines as one bash script."""
        url = f"http://127.0.0.1:{self.server.server_port}/api/health"
        script = (
            "\n".join(sent["Parameters"]["commands"])
            .replace(DEFAULT_APP_DIR, f"'--app-dir' '{self.app_dir}'")
            .replace(DEFAULT_HEALTH_URL, f"'--health-url' '{url}'")
        )
        env = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "HOME": str(self.folder),
            "LANG": "C.UTF-8",
            "RECORD": str(self.record),
            "FAIL_ON": "never",
            "MAESTRO_HEALTH_DELAY": "0",
        }
        return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                              timeout=120, check=False)  # fmt: skip


def deploy_as_the_host_plays_it(flow: Flow, host: AppHost) -> tuple[Any, dict[str, Any], Any]:
    """The merged PR's cd-application runner, with the host's part played while the runner
    waits on GetCommandInvocation: the command moto received runs on the host and its
    outcome goes back to moto as SSM reports it. The runner, the command, the host's run."""
    from concurrent.futures import ThreadPoolExecutor, wait

    flow.drain_queue()
    calls = list(flow.executor.pending())
    assert [c.service for c in calls] == ["codebuild"], calls
    execution = flow.executor.from_codebuild(calls[0].body)
    folder: Path = flow.moto["ssm_hosts"]
    before = set(folder.glob("*.sent.json"))
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(flow.executor.run, execution)
        new: set[Path] = set()
        while not new and not running.done():
            wait([running], timeout=0.2)
            new = set(folder.glob("*.sent.json")) - before
        assert len(new) == 1, (new, running.done() and running.result().output[-3000:])
        sent = json.loads(new.pop().read_text())
        done = host.run(sent)
        for instance in sent["InstanceIds"]:
            outcome = {
                "Status": "Success" if done.returncode == 0 else "Failed",
                "ResponseCode": done.returncode,
                "StandardOutputContent": done.stdout[-24000:],
                "StandardErrorContent": done.stderr[-8000:],
            }
            (folder / f"{sent['CommandId']}.{instance}.json").write_text(json.dumps(outcome))
        ran = running.result(timeout=600)
    flow.deliver_runner_events()
    assert flow.settle() == []
    return ran, sent, done


def merge_into_deployment(flow: Flow, files: dict[str, str], message: str, pr: int) -> str:
    """A commit on integration, merged into deployment, and GitHub's merged pull_request."""
    if "integration" in git(flow.origin, "branch", "--list", "integration"):
        git(flow.origin, "checkout", "-q", "integration")  # flow.push then builds on it
    sha = flow.push("integration", files, message)
    if "deployment" not in git(flow.origin, "branch", "--list", "deployment"):
        git(flow.origin, "branch", "deployment", "infra_main")
    git(flow.origin, "checkout", "-q", "deployment")
    git(flow.origin, "merge", "-q", "--ff-only", "integration")
    git(flow.origin, "push", "-q", str(flow.clone), "deployment:deployment")
    payload = pull_request(
        "closed", "integration", "deployment", sha=sha, number=pr, merged=True, repo=GITHUB_REPO
    )
    payload["repository"]["clone_url"] = str(flow.clone)
    flow.deliver("pull_request", payload)
    return sha


def step_reason(flow: Flow, run_id: str) -> str:
    """What the runner recorded for the deploy step in the run's artifacts."""
    bucket = flow.environment["MAESTRO_ARTIFACTS_BUCKET"]
    key = f"runs/{run_id}/results/deploy.json"
    body = flow.aws("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return str(json.loads(body)["reason"])


@pytest.fixture(scope="module")
def app_host(flow: Flow, tmp_path_factory: pytest.TempPathFactory) -> Any:
    host = AppHost(flow, tmp_path_factory.mktemp("app-host"))
    yield host
    host.close()


def test_a_merge_into_deployment_deploys_the_app_over_ssm_as_the_apply_identity(
    flow: Flow, app_host: AppHost
) -> None:
    names = flow.outputs["secret_names"]
    secret = f"postgresql://app:{secrets.token_hex(16)}@db/app"
    flow.aws("secretsmanager").put_secret_value(
        SecretId=names["app"], SecretString=json.dumps({"DATABASE_URL": secret})
    )
    sha = merge_into_deployment(flow, APP_FILES, "the application", pr=3)
    ran, sent, done = deploy_as_the_host_plays_it(flow, app_host)

    assert ran.returncode == 0, ran.output[-4000:]
    assert ran.role_arn == flow.outputs["runner_role_arns"]["apply"]
    # The command: the reviewed script, to the app host found by its tag (not the monitoring
    # host), the deployed commit's compose file and routes in its bundle, no secret value.
    assert sent["DocumentName"] == "AWS-RunShellScript"
    assert sent["InstanceIds"] == [app_host.instance]
    assert flow.ssm_calls[-1]["InstanceIds"] == [app_host.instance]  # the request moto recorded
    commands = sent["Parameters"]["commands"]
    assert f"'--secret-id' '{names['app']}'" in commands[-1]
    assert secret not in json.dumps(sent)
    [encoded] = [c for c in commands if c.startswith('base64 -d > "$bundle"')]
    bundle = base64.b64decode("".join(encoded.splitlines()[1:-1]))
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(bundle)) as tar:
        carried = {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers()}  # type: ignore[union-attr]
    assert carried == {
        "docker-compose.yml": APP_FILES["app/docker-compose.yml"],
        "traefik/dynamic/routes.yml": APP_FILES["app/traefik/dynamic/routes.yml"],
    }
    # What the host did: the files in place, the secret read by its id into a .env since gone.
    assert done.returncode == 0, done.stderr[-3000:]
    assert (app_host.app_dir / "docker-compose.yml").read_text() == carried["docker-compose.yml"]
    assert not (app_host.app_dir / ".env").exists()
    assert f"--secret-id {names['app']}" in app_host.record.read_text()

    deploy = flow.run_of("cd-application", 3)
    assert (deploy["status"], deploy["sha"]) == ("succeeded", sha), deploy.get("error")
    assert ran.run_id == deploy["id"]
    assert step_reason(flow, deploy["id"]) == f"SSM {sent['CommandId']} on {app_host.instance}"
    assert any(s["state"] == "success" and s["sha"] == sha for s in flow.fake.statuses)
    bodies = flow.fake.thread_bodies(GITHUB_REPO, 3)
    assert any("succeeded" in body for body in bodies), bodies


def test_a_deploy_whose_health_check_fails_raises_deploy_failed(
    flow: Flow, app_host: AppHost
) -> None:
    """The second deploy on the same host: the backend does not answer, the host's command
    fails, SSM says Failed, the run fails on its deploy step and DeployFailed is counted."""
    before = len([d for d in flow.lambdas.metrics() if "DeployFailed" in d])
    app_host.backend.mode = "frontend"
    routes = "http:\n  routers:\n    api: {rule: PathPrefix(`/api`), service: api}\n"
    sha = merge_into_deployment(
        flow, {"app/traefik/dynamic/routes.yml": routes}, "route the api", pr=4
    )
    ran, sent, done = deploy_as_the_host_plays_it(flow, app_host)
    assert done.returncode != 0 and "not healthy" in done.stderr, done.stderr[-3000:]
    assert not (app_host.app_dir / ".env").exists()
    assert ran.returncode != 0

    deploy = flow.run_of("cd-application", 4)
    assert (deploy["status"], deploy["failed_step"], deploy["sha"]) == ("failed", "deploy", sha)
    assert step_reason(flow, deploy["id"]).endswith(
        f"SSM command {sent['CommandId']} on {app_host.instance} ended Failed"
    ), step_reason(flow, deploy["id"])
    assert any(s["state"] in ("failure", "error") and s["sha"] == sha for s in flow.fake.statuses)
    bodies = flow.fake.thread_bodies(GITHUB_REPO, 4)
    assert any("failed" in body.lower() for body in bodies), bodies

    cloudwatch = put_emf_metrics(flow)
    failed = [d for d in flow.lambdas.metrics() if "DeployFailed" in d]
    assert len(failed) == before + 1, flow.lambdas.metrics()[-5:]
    [alarm] = [
        a
        for a in cloudwatch.describe_alarms()["MetricAlarms"]
        if a["AlarmName"].endswith("deploy-failed")
    ]
    [service] = [d["Value"] for d in alarm["Dimensions"] if d["Name"] == "service"]
    assert failed[-1]["service"] == service
    assert cloudwatch.list_metrics(Namespace=alarm["Namespace"], MetricName=alarm["MetricName"])[
        "Metrics"
    ]


# ---- the runs API on the state the flow left, as the API function's own role -------------------


def test_the_runs_api_lists_retries_releases_and_cancels_under_its_own_role(flow: Flow) -> None:
    """What a script does through API Gateway once IAM let it in: the function runs with only
    its role's policy (moto enforcing IAM), so a read or write the role lacks fails here as it
    would in AWS. A new PR's lock is listed and released; the failed deploy of PR 4 is retried
    (a new run, its build started as the apply identity) and the retry cancelled (its build
    is never played: it would wait for an SSM host). A failed apply is not the one to retry:
    its PR's lock is gone, so that retry fails before it runs, saying to re-plan."""
    failed = flow.run_of("cd-application", 4)
    status, listed = flow.lambdas.api("GET", "/runs", query={"repo": GITHUB_REPO, "limit": "50"})
    assert status == 200, listed
    assert failed["id"] in [r["id"] for r in listed["runs"]]
    status, one = flow.lambdas.api("GET", "/runs/{run_id}", {"run_id": failed["id"]})
    assert (status, one["status"]) == (200, "failed"), one
    status, logs = flow.lambdas.api("GET", "/runs/{run_id}/logs", {"run_id": failed["id"]})
    assert status == 200, logs

    # A new PR's plan takes the stack's lock; a maintainer releases it through the API.
    sha = flow.push("infra_features", {"terraform/infra/NOTES.md": "held\n"}, "hold the lock")
    flow.deliver("pull_request", flow.pr_payload("opened", sha, 5, "infra_features"))
    flow.settle()
    assert flow.run_of("terraform-plan", 5)["status"] == "succeeded"
    status, locks = flow.lambdas.api("GET", "/locks")
    assert status == 200, locks
    [held] = [lock for lock in locks["locks"] if lock["held"]]
    assert (held["holder_pr"], held["directory"]) == (5, "terraform/infra"), held
    for _ in range(2):  # releasing a free lock again changes nothing and says so
        status, released = flow.lambdas.api("DELETE", "/locks/{lock_id}", {"lock_id": held["id"]})
        assert (status, released["lock"]["held"]) == (200, False), released
    status, locks = flow.lambdas.api("GET", "/locks")
    assert (status, locks["locks"]) == (200, []), locks

    status, retry = flow.lambdas.api("POST", "/runs/{run_id}/retry", {"run_id": failed["id"]})
    assert status == 201, retry
    assert retry["retry_of"] == failed["id"] and retry["status"] in ("queued", "dispatched")
    status, again = flow.lambdas.api("POST", "/runs/{run_id}/retry", {"run_id": failed["id"]})
    assert status == 409, again  # one retry per run, however often it is asked

    status, cancelled = flow.lambdas.api("POST", "/runs/{run_id}/cancel", {"run_id": retry["id"]})
    assert status == 200, cancelled
    assert cancelled["status"] == "cancelled", cancelled


def test_every_dynamodb_request_was_allowed_on_its_table_by_the_callers_own_role(
    flow: Flow,
) -> None:
    """moto checks DynamoDB by action only; AWS also checks the table. Every request the
    functions and runners made in this flow, read back from moto's recorder, is allowed by
    the caller's own role on the table (or index) it touched."""
    identities = flow.executor.identities()
    checked: dict[str, int] = {}
    denied = []
    requests = dynamodb_requests(flow.moto["recording"], ACCOUNT)
    for key_id, action, resource in requests:
        if key_id not in identities:
            continue  # the test's own reads and writes, with moto's default keys
        role, policies = identities[key_id]
        checked[role] = checked.get(role, 0) + 1
        if not allows(policies, action, resource):
            denied.append((role.rsplit("/", 1)[1], action, resource))
    functions = set(flow.outputs["lambda_role_arns"].values())
    assert functions <= set(checked), sorted(functions - set(checked))
    assert sorted(set(denied)) == []
    # The check can refuse: no role here may write a table the controller did not name.
    api_policies = flow.executor.credentials_of(flow.outputs["lambda_role_arns"]["api_handler"])[2]
    other = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/someone-elses"
    assert not allows(api_policies, "dynamodb:PutItem", other)
