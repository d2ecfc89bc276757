"""The seed's GitHub Actions workflows run the whole flow, as GitHub Actions would run them.

Each caller workflow (.github/workflows/<pipeline>.yml) is read, its job's ``if:`` evaluated
on a real webhook payload (tests/events/), and the runner steps of ``runner.yml`` it calls are
run as GitHub runs them: their ``run:`` scripts with ``bash -eo pipefail``, their ``env:``
expressions evaluated against the repository secrets, with only the environment GitHub gives
a job (GITHUB_*, RUNNER_*, the event file, the token) plus what the
aws-actions/configure-aws-credentials step exports, and a Terraform CLI configuration naming
a provider mirror (this machine has no network). Nothing of this process's environment leaks
in. GitHub is the fake API on loopback (checked against GitHub's OpenAPI description); the
clone URL is a file:// "server" holding the repository; AWS (the S3 state, its lock table,
the artifacts bucket) is a moto server on loopback.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto.server import ThreadedMotoServer

from runners.plugins import ensure_plugin_dir
from tests.functional.github.fake_github import FakeGitHub
from tests.functional.github.openapi_check import OpenApiChecker

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = ROOT / ".github" / "workflows"
EVENTS = ROOT / "tests" / "events"
FIXTURES = ROOT / "tests" / "fixtures" / "runners"
REPO = "acme/infra"
TOKEN = "ghs_actions0123456789"
REGION = "us-east-1"


# -- GitHub Actions expressions (the subset the workflows use) -----------------------------
_TOKEN_RE = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+)|(?P<op>==|!=|&&|\|\||!|\(|\)|,)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_*][A-Za-z0-9_-]*)*))"
)


class Expression:
    """Parses and evaluates one expression; an unknown construct fails the test loudly."""

    def __init__(self, text: str, context: dict[str, Any]) -> None:
        self.tokens, self.at, self.context = [], 0, context
        pos = 0
        while pos < len(text.rstrip()):
            match = _TOKEN_RE.match(text, pos)
            assert match and match.end() > pos, f"cannot parse {text!r} at {pos}"
            kind = match.lastgroup
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()

    def value(self) -> Any:
        result = self._or()
        assert self.at == len(self.tokens), f"trailing tokens in {self.tokens}"
        return result

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _take(self, op: str) -> bool:
        if self._peek() == ("op", op):
            self.at += 1
            return True
        return False

    def _or(self) -> Any:
        left = self._and()
        while self._take("||"):
            right = self._and()
            left = left or right
        return left

    def _and(self) -> Any:
        left = self._compare()
        while self._take("&&"):
            right = self._compare()
            left = left and right
        return left

    def _compare(self) -> Any:
        left = self._unary()
        for op in ("==", "!="):
            if self._take(op):
                right = self._unary()
                return (left == right) if op == "==" else (left != right)
        return left

    def _unary(self) -> Any:
        if self._take("!"):
            return not self._unary()
        if self._take("("):
            inner = self._or()
            assert self._take(")")
            return inner
        kind, text = self.tokens[self.at]
        self.at += 1
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return int(text)
        if text in ("true", "false"):
            return text == "true"
        if self._take("("):
            args = []
            while not self._take(")"):
                args.append(self._or())
                self._take(",")
            return self._call(text, args)
        value: Any = self.context
        for part in text.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value if value is not None else ""

    def _call(self, name: str, args: list[Any]) -> Any:
        if name == "always":
            return True
        if name == "success":
            return all(s["outcome"] == "success" for s in self.context["steps"].values())
        if name == "contains":
            return str(args[1]).lower() in str(args[0]).lower()
        raise AssertionError(f"function {name}() is not known to this test")


def evaluate(text: str, context: dict[str, Any]) -> Any:
    return Expression(text, context).value()


def interpolate(value: Any, context: dict[str, Any]) -> str:
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: str(evaluate(m.group(1), context)), str(value))


def condition(text: str | None, context: dict[str, Any]) -> bool:
    if text is None:
        return all(s["outcome"] == "success" for s in context["steps"].values())
    text = text.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    return bool(evaluate(text, context))


# -- the world: AWS, GitHub, the repository ------------------------------------------------
@dataclass
class Outcome:
    ran: bool
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> outcome, output
    summary: str = ""


@dataclass
class World:
    root: Path
    server: Path  # file:// "GitHub" holding <owner>/<name>.git
    moto: str
    github: FakeGitHub
    cli_config: Path
    run_number: int = 0
    extra_secrets: dict[str, str] = field(default_factory=dict)
    roles: list[str] = field(default_factory=list)  # role-to-assume of each run, in order

    @property
    def bare(self) -> Path:
        return self.server / f"{REPO}.git"

    def git(self, *args: str, cwd: Path | None = None) -> str:
        ident = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
        done = subprocess.run(["git", *ident, *args], cwd=cwd, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def secrets(self) -> dict[str, str]:
        backend = "\n".join(
            f"{k}={v}"
            for k, v in {
                "endpoint": self.moto,
                "dynamodb_endpoint": self.moto,
                "sts_endpoint": self.moto,
                "force_path_style": "true",
                "skip_credentials_validation": "true",
                "skip_metadata_api_check": "true",
            }.items()
        )
        return {
            "MAESTRO_AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/maestrops-apply",
            "MAESTRO_AWS_PLAN_ROLE_ARN": "arn:aws:iam::123456789012:role/maestrops-plan",
            "MAESTRO_AWS_REGION": REGION,
            "MAESTRO_ARTIFACTS_BUCKET": "maestrops-artifacts",
            "MAESTRO_STATE_BUCKET": "maestrops-tfstate",
            "MAESTRO_STATE_LOCK_TABLE": "maestrops-tfstate-locks",
            "MAESTRO_STATE_BACKEND_CONFIG": backend,
            **self.extra_secrets,
        }

    def run(self, pipeline: str, event_name: str, event: dict[str, Any], sha: str) -> Outcome:
        """The caller workflow, then runner.yml's steps, in a fresh job folder."""
        self.run_number += 1
        caller = yaml.safe_load((WORKFLOWS / f"{pipeline}.yml").read_text())
        assert event_name in caller[True]  # YAML 1.1 reads the key `on` as True
        (job,) = caller["jobs"].values()
        assert job["uses"] == "./.github/workflows/runner.yml" and job["secrets"] == "inherit"
        job_dir = self.root / f"job-{self.run_number}"
        temp, home, workspace = job_dir / "_temp", job_dir / "home", job_dir / "workspace"
        for folder in (temp, home):
            folder.mkdir(parents=True)
        event_path = temp / "event.json"
        event_path.write_text(json.dumps(event))
        ref = event.get("ref") or f"refs/pull/{event.get('number', 0)}/merge"
        github = {
            "event": event,
            "event_name": event_name,
            "token": TOKEN,
            "repository": REPO,
            "sha": sha,
            "ref": ref,
            "run_attempt": "1",
        }
        context: dict[str, Any] = {"github": github, "secrets": self.secrets(), "steps": {}}
        if not condition(job.get("if"), context):
            return Outcome(ran=False)
        context["inputs"] = job["with"]
        runner = yaml.safe_load((WORKFLOWS / "runner.yml").read_text())["jobs"]["run"]
        context["runner"] = {"temp": str(temp)}
        job_env = {k: interpolate(v, context) for k, v in runner.get("env", {}).items()}
        context["env"] = job_env
        summary = temp / "step-summary.md"
        base_env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTOR": "octocat",
            "GITHUB_API_URL": self.github.url,
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_JOB": "run",
            "GITHUB_REF": ref,
            "GITHUB_REF_NAME": ref.removeprefix("refs/heads/"),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_REPOSITORY_OWNER": REPO.split("/")[0],
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_RUN_ID": str(9000 + self.run_number),
            "GITHUB_RUN_NUMBER": str(self.run_number),
            "GITHUB_SERVER_URL": self.server.as_uri(),
            "GITHUB_SHA": sha,
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_WORKFLOW": caller["name"],
            "GITHUB_WORKSPACE": str(workspace),
            "RUNNER_OS": "Linux",
            "RUNNER_TEMP": str(temp),
            # This machine's Terraform installs providers from a local mirror only.
            "TF_CLI_CONFIG_FILE": str(self.cli_config),
            "CHECKPOINT_DISABLE": "1",
        }
        outcome = Outcome(ran=True)
        for step in runner["steps"]:
            name = interpolate(step.get("name", step.get("uses", "")), context)
            if not condition(step.get("if"), context):
                continue
            if "uses" in step:
                self._action(step, workspace, sha, base_env, context, job_env)
                continue
            if step["run"].lstrip().startswith("python -m pip install"):
                continue  # the project is installed in this Python already (make setup)
            env = {**base_env, **job_env}
            env |= {k: interpolate(v, context) for k, v in step.get("env", {}).items()}
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=workspace, env=env, capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            result = {"outcome": "success" if done.returncode == 0 else "failure",
                      "output": done.stdout + done.stderr}  # fmt: skip
            outcome.steps[name] = result
            if step.get("id"):
                context["steps"][step["id"]] = result
            else:
                context["steps"][name] = result
        outcome.summary = summary.read_text() if summary.exists() else ""
        return outcome

    def _action(self, step, workspace, sha, base_env, context, job_env) -> None:
        """The `uses:` steps, by what they leave behind for the steps after them."""
        action = step["uses"].split("@")[0]
        if action == "actions/checkout":
            self.git("clone", "-q", str(self.bare), str(workspace))
            self.git("-C", str(workspace), "checkout", "-q", sha)
        elif action == "aws-actions/configure-aws-credentials":
            region = interpolate(step["with"]["aws-region"], context)
            self.roles.append(interpolate(step["with"]["role-to-assume"], context))
            base_env.update(
                AWS_ACCESS_KEY_ID="testing",
                AWS_SECRET_ACCESS_KEY="testing",
                AWS_SESSION_TOKEN="testing",
                AWS_REGION=region,
                AWS_DEFAULT_REGION=region,
                AWS_ENDPOINT_URL=self.moto,  # the test's stand-in for AWS
            )

    def push(self, branch: str, fixture_files: dict[str, str], message: str) -> str:
        work = self.root / "author"
        if not work.exists():
            self.git("clone", "-q", str(self.bare), str(work))
        current = self.git("-C", str(work), "branch", "--show-current")
        if current != branch:
            self.git("-C", str(work), "checkout", "-q", "-B", branch)
        for path, text in fixture_files.items():
            target = work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.git("-C", str(work), "add", "-A")
        self.git("-C", str(work), "commit", "-q", "-m", message)
        self.git("-C", str(work), "push", "-q", "-f", "origin", f"HEAD:refs/heads/{branch}")
        return self.git("-C", str(work), "rev-parse", "HEAD")

    def merge(self, head: str, base: str) -> str:
        work = self.root / "author"
        self.git("-C", str(work), "fetch", "-q", "origin")
        self.git("-C", str(work), "checkout", "-q", "-B", base, f"origin/{base}")
        self.git("-C", str(work), "merge", "-q", "--no-ff", "-m", f"Merge {head}", f"origin/{head}")
        self.git("-C", str(work), "push", "-q", "origin", f"HEAD:refs/heads/{base}")
        return self.git("-C", str(work), "rev-parse", "HEAD")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    url = f"http://{host}:{port}"
    # Servers in one process share moto's backends: start from an empty account.
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"))
    aws = {"endpoint_url": url, "region_name": REGION,
           "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # fmt: skip
    s3 = boto3.client("s3", **aws)
    for bucket in ("maestrops-tfstate", "maestrops-artifacts"):
        s3.create_bucket(Bucket=bucket)
    boto3.client("dynamodb", **aws).create_table(
        TableName="maestrops-tfstate-locks",
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    github = FakeGitHub(OpenApiChecker(), app_id="1", app_public_key="unused").start()
    github.personal_tokens.add(TOKEN)  # GitHub accepts the job's token for this repository
    mirror = ensure_plugin_dir(tmp_path / "provider-mirror")
    cli_config = tmp_path / "terraformrc"
    cli_config.write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n'
    )
    server = tmp_path / "server"
    bare = server / f"{REPO}.git"
    bare.parent.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "infra_main", str(bare)], check=True)
    world = World(tmp_path, server, url, github, cli_config)
    stack = (FIXTURES / "terraform" / "null-ok" / "main.tf").read_text()
    world.push(
        "infra_main",
        {
            ".gitops.yml": "terraform: {dir: infra}\n",
            "infra/main.tf": stack,
            "infra/backend.tf": 'terraform {\n  backend "s3" {}\n}\n',
            **{
                f"ansible/{path.relative_to(ROOT / 'ansible')}": path.read_text()
                for path in (ROOT / "ansible").rglob("*")
                if path.is_file() and ".cache" not in path.parts
            },
        },
        "the stack",
    )
    yield world
    github.stop()
    moto.stop()
    assert github.violations == [], "requests GitHub's OpenAPI description does not allow"


def pull_request(
    action: str,
    number: int,
    head_sha: str,
    merged_sha: str | None = None,
    head: str = "infra_features",
    base: str = "infra_main",
) -> dict:
    event = copy.deepcopy(json.loads((EVENTS / f"pull_request.{action}.json").read_text()))
    pr = event["pull_request"]
    event["number"] = pr["number"] = number
    pr["head"].update(ref=head, sha=head_sha)
    pr["base"]["ref"] = base
    pr["merged"] = merged_sha is not None
    pr["merge_commit_sha"] = merged_sha
    event["repository"]["full_name"] = REPO
    return event


def push_event(branch: str, sha: str) -> dict:
    event = copy.deepcopy(json.loads((EVENTS / "push.json").read_text()))
    event.update(ref=f"refs/heads/{branch}", after=sha)
    event["head_commit"].update(id=sha, message="change")
    event["repository"]["full_name"] = REPO
    return event


def aws_args(world: World) -> dict[str, str]:
    return {"endpoint_url": world.moto, "region_name": REGION,
            "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # fmt: skip


def s3_text(world: World, key: str) -> str:
    s3 = boto3.client("s3", **aws_args(world))
    return s3.get_object(Bucket="maestrops-artifacts", Key=key)["Body"].read().decode()


def s3_json(world: World, key: str) -> dict:
    s3 = boto3.client("s3", endpoint_url=world.moto, region_name=REGION,
                      aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    return json.loads(s3.get_object(Bucket="maestrops-artifacts", Key=key)["Body"].read())


def assert_succeeded(outcome: Outcome) -> None:
    assert outcome.ran
    failed = {n: s["output"][-3000:] for n, s in outcome.steps.items() if s["outcome"] != "success"}
    assert failed == {}


def test_validate_plan_apply_through_the_seed_workflows(world: World) -> None:
    s3 = boto3.client("s3", endpoint_url=world.moto, region_name=REGION,
                      aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    state_key = "stacks/acme/infra/infra/default.tfstate"
    stack = (FIXTURES / "terraform" / "null-ok" / "main.tf").read_text()

    # terraform-validate on a push to the feature branch: no backend, no comment.
    feature = world.push("infra_features", {"infra/main.tf": stack.replace('"one"', '"two"')},
                         "release two")  # fmt: skip
    pushed = push_event("infra_features", feature)
    validate = world.run("terraform-validate", "push", pushed, feature)
    assert_succeeded(validate)
    assert "terraform-validate run #1 succeeded" in validate.summary
    assert world.github.comments == {}

    # terraform-plan on the pull request: the plan comment, with its cost, by the job's token.
    plan = world.run("terraform-plan", "pull_request", pull_request("opened", 7, feature), feature)
    assert_succeeded(plan)
    [comment] = world.github.thread_bodies(REPO, 7)
    assert "<!-- maestrops:thread=terraform-plan -->" in comment
    assert "**Plan:** 1 to add, 0 to change" in comment and "`null_resource.app`" in comment
    # The cost step's estimate reached the renderer: without it the comment would say
    # "💰 cost: not estimated"; a change of $0 has no cost block, as the controller renders it.
    assert "not estimated" not in comment
    costs = s3.list_objects_v2(Bucket="maestrops-artifacts", Prefix="runs/gha-9002-1/cost-")
    assert {o["Key"].rsplit("/", 1)[1] for o in costs["Contents"]} >= {
        "cost-report.json",
        "cost-policy.json",
    }
    assert "+1 ~0 -0, +$0.00/mo" in plan.summary  # the status line, with the priced delta
    posts = [r for r in world.github.requests if r.method in ("POST", "PATCH")]
    assert {r.authorization for r in posts} == {f"Bearer {TOKEN}"}
    assert "state" not in str(s3.list_objects_v2(Bucket="maestrops-tfstate").get("Contents"))

    # A second plan of the same pull request replaces the comment, never adds one.
    again = world.run("terraform-plan", "pull_request",
                      pull_request("synchronize", 7, feature), feature)  # fmt: skip
    assert_succeeded(again)
    [updated] = world.github.thread_bodies(REPO, 7)
    assert "seq=3" in updated and "seq=2" not in updated

    # terraform-apply on the merge: state in the S3 backend, the result on the pull request.
    merged = world.merge("infra_features", "infra_main")
    closed = pull_request("closed", 7, feature, merged_sha=merged)
    apply = world.run("terraform-apply", "pull_request", closed, merged)
    assert_succeeded(apply)
    state = json.loads(s3.get_object(Bucket="maestrops-tfstate", Key=state_key)["Body"].read())
    assert state["outputs"]["domain"]["value"] == "example.com"
    [resource] = state["resources"]
    assert resource["instances"][0]["attributes"]["triggers"] == {"release": "two"}
    bodies = world.github.thread_bodies(REPO, 7)
    assert any("terraform-apply run #4 succeeded" in b for b in bodies)
    assert sum("maestrops:thread=terraform-plan -->" in b for b in bodies) == 1

    # ansible-monitoring (by hand here; after every apply on GitHub): the inventory from the
    # applied state's outputs, then monitoring.yml and app.yml over the SSM connection.
    dispatch = {
        "ref": "refs/heads/infra_main",
        "inputs": None,
        "repository": pushed["repository"],
        "sender": pushed["sender"],
        "workflow": ".github/workflows/ansible-monitoring.yml",
    }
    world.run("ansible-monitoring", "workflow_dispatch", dispatch, merged)
    prefix = f"runs/gha-{9000 + world.run_number}-1/"
    results = {
        n: s3_json(world, f"{prefix}results/{n}.json")
        for n in ("init", "output", "inventory", "monitoring")
    }
    assert [results[n]["status"] for n in ("init", "output", "inventory")] == ["succeeded"] * 3
    inventory = s3_text(world, prefix + "inventory.ini")
    assert (
        "monitoring-1 ansible_host=i-0456" in inventory and "app-1 ansible_host=i-0123" in inventory
    )
    log = s3_text(world, prefix + "logs/monitoring.log")
    command = next(line for line in log.splitlines() if line.startswith("$ "))
    assert re.search(r"/monitoring\.yml \S+/app\.yml -c amazon\.aws\.aws_ssm -e @", command)
    if shutil.which("session-manager-plugin") is None:
        # This machine lacks AWS's plugin (the runner image installs it): the connection was
        # really attempted, and stops there.
        assert results["monitoring"]["status"] == "failed"
        assert 'required executable "session-manager-plugin"' in log

    # Code nobody merged yet runs as the plan role; merged code as the apply role.
    plan_role, apply_role = (world.secrets()[f"MAESTRO_AWS_{k}ROLE_ARN"] for k in ("PLAN_", ""))
    assert world.roles == [plan_role, plan_role, plan_role, apply_role, apply_role]

    # The third plan, on the applied state: nothing to change.
    after = world.run("terraform-plan", "pull_request", pull_request("opened", 8, merged), merged)
    assert_succeeded(after)
    [third] = world.github.thread_bodies(REPO, 8)
    assert "No changes" in third or "no changes" in third

    # A closed pull request that was not merged applies nothing.
    unmerged = pull_request("closed", 9, feature)
    assert world.run("terraform-apply", "pull_request", unmerged, feature).ran is False


def test_a_failed_run_is_reported_and_fails_the_job(world: World) -> None:
    # With an event bus the runner also reports to EventBridge: init works there too.
    events, sqs = boto3.client("events", **aws_args(world)), boto3.client("sqs", **aws_args(world))
    events.create_event_bus(Name="maestrops")
    queue = sqs.create_queue(QueueName="runner-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    events.put_rule(Name="runner", EventBusName="maestrops",
                    EventPattern=json.dumps({"source": ["maestrops.runner"]}))  # fmt: skip
    events.put_targets(Rule="runner", EventBusName="maestrops",
                       Targets=[{"Id": "q", "Arn": arn["QueueArn"]}])  # fmt: skip
    world.extra_secrets["MAESTRO_EVENT_BUS"] = "maestrops"
    broken = (FIXTURES / "terraform" / "broken" / "main.tf").read_text()
    sha = world.push("infra_features", {"infra/main.tf": broken}, "broken")
    outcome = world.run("terraform-plan", "pull_request", pull_request("opened", 5, sha), sha)
    assert outcome.steps["Run terraform-plan"]["outcome"] == "failure"
    received = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        received += [json.loads(m["Body"]) for m in batch]
    steps = {e["detail"]["step"]["name"]: e["detail"]["step"]["status"]
             for e in received if e["detail-type"] == "MaestrOps Step Finished"}  # fmt: skip
    assert steps == {"init": "succeeded", "plan": "failed"}
    assert outcome.steps["Report on the pull request"]["outcome"] == "success"
    [comment] = world.github.thread_bodies(REPO, 5)
    assert "failed" in comment


def test_cd_application_deploys_the_merged_commit_over_ssm(world: World) -> None:
    aws = {"endpoint_url": world.moto, "region_name": REGION,
           "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # fmt: skip
    ec2, ssm = boto3.client("ec2", **aws), boto3.client("ssm", **aws)
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "Role", "Value": "app"}]}]
    [app_host] = [
        i["InstanceId"]
        for i in ec2.run_instances(
            ImageId="ami-12c6146b", MinCount=1, MaxCount=1, TagSpecifications=tags
        )["Instances"]
    ]
    compose = "services:\n  web:\n    image: nginx:1.27\n"
    head = world.push("integration", {"app/docker-compose.yml": compose}, "the app")
    world.push("deployment", {"app/README": "deployment branch\n"}, "start deployment")
    merged = world.merge("integration", "deployment")

    # Only a merge from the integration branch deploys.
    other = pull_request("closed", 11, head, merged, head="hotfix", base="deployment")
    assert world.run("cd-application", "pull_request", other, merged).ran is False

    for attempt in (1, 2):  # the same commit deployed again sends the same command again
        event = pull_request("closed", 12, head, merged, head="integration", base="deployment")
        outcome = world.run("cd-application", "pull_request", event, merged)
        assert_succeeded(outcome)
        sent = [
            c for c in ssm.list_commands()["Commands"] if "/ssm/deploy" in c["OutputS3KeyPrefix"]
        ]
        assert len(sent) == attempt
        assert sent[-1]["DocumentName"] == "AWS-RunShellScript"
        script = "\n".join(sent[-1]["Parameters"]["commands"])
        assert "'--secret-id' 'maestrops/acme/infra/app'" in script
        bodies = world.github.thread_bodies(REPO, 12)
        assert any(f"cd-application run #{world.run_number} succeeded" in b for b in bodies)
        # The command carries the merged commit's compose file, to the app host by id.
        found = re.search(r"base64 -d > \"\$bundle\" <<'(\w+)'\n(.*?)\n\1", script, re.S)
        assert found, script[-500:]
        encoded = found.group(2)
        with tarfile.open(fileobj=io.BytesIO(base64.b64decode(encoded))) as bundle:
            assert bundle.extractfile("docker-compose.yml").read().decode() == compose
        result = s3_json(world, f"runs/gha-{9000 + world.run_number}-1/results/deploy.json")
        assert result["status"] == "succeeded" and result["reason"].endswith(f"on {app_host}")


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[tuple[str, tuple[str, str]]]:
    """Debian's docker-registry on loopback that refuses pushes without a login."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # bcrypt through libxcrypt: the registry's htpasswd format

        hashed = crypt.crypt("s3cret-registry-pw", crypt.mksalt(crypt.METHOD_BLOWFISH))
    folder = tmp_path / "registry"
    folder.mkdir()
    (folder / "htpasswd").write_text(f"ci:{hashed}\n")
    port = free_port()
    (folder / "config.yml").write_text(
        "version: 0.1\nlog: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: '{folder / 'data'}'}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
        f"auth: {{htpasswd: {{realm: maestrops, path: '{folder / 'htpasswd'}'}}}}\n"
    )
    proc = subprocess.Popen(["docker-registry", "serve", str(folder / "config.yml")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_port(port)
        yield f"localhost:{port}", ("ci", "s3cret-registry-pw")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def test_ci_application_logs_in_pushes_and_commits_the_tags(world: World, registry) -> None:
    address, (user, password) = registry
    secrets = boto3.client("secretsmanager", **aws_args(world))
    login = json.dumps({"username": user, "password": password})
    secrets.create_secret(Name="maestrops/registry", SecretString=login)
    world.extra_secrets.update(
        MAESTRO_REGISTRY=address, MAESTRO_REGISTRY_SECRET="maestrops/registry"
    )
    compose = (FIXTURES / "compose" / "app-docker-compose.yml").read_text()
    backend = FIXTURES / "images" / "backend"
    files = {f"app/backend/{p.name}": p.read_text() for p in backend.iterdir()}
    files |= {
        "app/docker-compose.yml": compose,
        ".gitops.yml": "terraform: {dir: infra}\n"
        "application: {images: [{name: maestrops/backend, context: app/backend}]}\n",
    }
    sha = world.push("integration", files, "the app")
    outcome = world.run("ci-application", "push", push_event("integration", sha), sha)
    assert_succeeded(outcome)

    tag = f"{world.run_number}-{sha[:7]}"
    ref = f"docker://{address}/maestrops/backend:{tag}"
    anonymous = subprocess.run(["skopeo", "inspect", "--tls-verify=false", ref],
                               capture_output=True, text=True)  # fmt: skip
    assert anonymous.returncode != 0  # the registry wants a login, and the push had one
    inspected = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--creds", f"{user}:{password}", ref],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(inspected.stdout)["RepoTags"] == [tag]
    # The tag commit went back to the branch, and its push does not build again.
    head = world.git("--git-dir", str(world.bare), "log", "-1", "--format=%H %s", "integration")
    bot_sha, message = head.split(" ", 1)
    assert message.endswith("[maestro-bot]") and tag in message
    shown = world.git("--git-dir", str(world.bare), "show", "integration:app/docker-compose.yml")
    assert f"{address}/maestrops/backend:{tag}@sha256:" in shown
    bot_push = push_event("integration", bot_sha)
    bot_push["head_commit"]["message"] = message
    assert world.run("ci-application", "push", bot_push, bot_sha).ran is False
    assert password not in outcome.steps["Run ci-application"]["output"]
