"""The Lambda package as the deploy guide builds it, run where only the Lambda runtime is.

``scripts/chalice_package.py`` (the guide's step 6) packages a copy of the project; the zip is
unpacked into a task directory and every function's handler is imported and called by a clean
Python that holds the standard library plus boto3/botocore (what the Lambda Python runtime
provides, at a version older than pyproject's pin, as the runtime's own copy is). AWS is a moto
server on loopback holding the resources the stage's environment names (the queue's URL
replaced by moto's, the account placeholder by moto's account), GitHub a loopback server that
knows no repository. Events have the shapes Lambda delivers: an API Gateway proxy event (a
signed ping), an SQS FIFO batch, a runner's EventBridge event and scheduled events.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import uuid
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from chalicelib.event_types import DETAIL_HEARTBEAT, RUNNER_SOURCE
from chalicelib.store.schema import create_tables
from tests.integration.package.lambda_runtime import (
    MOTO_ACCOUNT,
    api_gateway_proxy,
    make_runtime_python,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
HARNESS = Path(__file__).with_name("lambda_invoke.py")
STAGE = "prod"
# Older than pyproject's boto3 pin, as the Lambda runtime's own copy is.
ACCOUNT = MOTO_ACCOUNT
REGION = "us-east-1"
WEBHOOK_SECRET = "package-test-secret"
GITHUB_TOKEN_SECRET = f"maestrops/{STAGE}/github-token"
FUNCTIONS = {
    "api_handler",
    "dispatch_events",
    "on_runner_event",
    "reap_stuck_runs",
    "sweep_locks",
    "flush_feedback",
}
PROJECT_FILES = ("app.py", "chalicelib", ".chalice", "requirements.txt")


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``chalice package`` through the guide's wrapper, on a copy of the project (Chalice
    caches its build under the project's ``.chalice/deployments``)."""
    project = tmp_path_factory.mktemp("project")
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "deployments", "*.pyc")
            shutil.copytree(source, project / name, ignore=ignore)
        else:
            shutil.copy2(source, project / name)
    out = tmp_path_factory.mktemp("package") / "chalice"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_REGION"] = REGION  # as the guide exports it; the wrapper passes it to Chalice
    command = guide_package_command()
    command += ["--project-dir", str(project), str(out)]
    subprocess.run(command, env=env, check=True, timeout=300)
    return out


def guide_package_command() -> list[str]:
    """The packaging line of docs/deploy.md, without its output directory."""
    guide = (ROOT / "docs" / "deploy.md").read_text()
    [line] = [x for x in guide.splitlines() if x.startswith(".venv/bin/python scripts/")]
    program, script, *args, _out = shlex.split(line.replace('"$STAGE"', STAGE))
    assert program == ".venv/bin/python" and args == ["--stage", STAGE], line
    return [sys.executable, str(ROOT / script), *args]


@pytest.fixture(scope="module")
def task_dir(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    task = tmp_path_factory.mktemp("var-task")
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        archive.extractall(task)
    return task


@pytest.fixture(scope="module")
def runtime_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_runtime_python(tmp_path_factory.mktemp("lambda-runtime"))


@pytest.fixture(scope="module")
def functions(package: Path) -> dict[str, dict[str, Any]]:
    tf = json.loads((package / "chalice.tf.json").read_text())
    return dict(tf["resource"]["aws_lambda_function"])


@pytest.fixture(scope="module")
def github() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class NotFound(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        body = b'{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@pytest.fixture(scope="module")
def aws(functions: dict[str, dict[str, Any]], github: str) -> Iterator[dict[str, str]]:
    """A moto server with the resources the stage names; yields the functions' environment."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    client = boto3.session.Session(region_name=REGION, **credentials).client
    configured = functions["api_handler"]["environment"]["variables"]
    env = {k: v.replace("ACCOUNT_ID", ACCOUNT) for k, v in configured.items()}
    create_tables(
        client("dynamodb", endpoint_url=endpoint),
        env["MAESTRO_TABLE"],
        env["MAESTRO_IDEMPOTENCY_TABLE"],
    )
    sqs = client("sqs", endpoint_url=endpoint)
    queue_name = env["MAESTRO_QUEUE_URL"].rsplit("/", 1)[1]
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "false"}
    env["MAESTRO_QUEUE_URL"] = sqs.create_queue(QueueName=queue_name, Attributes=attributes)[
        "QueueUrl"
    ]
    client("s3", endpoint_url=endpoint).create_bucket(Bucket=env["MAESTRO_ARTIFACTS_BUCKET"])
    client("secretsmanager", endpoint_url=endpoint).create_secret(
        Name=env["MAESTRO_WEBHOOK_SECRET_NAME"], SecretString=WEBHOOK_SECRET
    )
    # GitHub by token (the App's key would do as well), answered by a GitHub that knows no
    # repository: a handler that reads from GitHub gets a 404, after its imports.
    client("secretsmanager", endpoint_url=endpoint).create_secret(
        Name=GITHUB_TOKEN_SECRET, SecretString="ghs_package-test"
    )
    env.update(
        MAESTRO_GITHUB_TOKEN_SECRET=GITHUB_TOKEN_SECRET,
        MAESTRO_GITHUB_API_URL=github,
        AWS_ENDPOINT_URL=endpoint,
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_MAX_ATTEMPTS="1",
        LANG="C.UTF-8",
    )
    yield env
    server.stop()


def invoke(
    python: Path, task: Path, handler: str, event: dict[str, Any], env: dict[str, str], tmp: Path
) -> dict[str, Any]:
    event_file = tmp / f"{uuid.uuid4().hex}.json"
    event_file.write_text(json.dumps(event))
    completed = subprocess.run(
        [str(python), "-I", str(HARNESS), str(task), handler, str(event_file)],
        env=env,  # nothing inherited: no PYTHONPATH, no virtualenv of the test run
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("OUTCOME ")]
    assert lines, completed.stdout + completed.stderr
    return dict(json.loads(lines[-1].removeprefix("OUTCOME ")))


def api_gateway_ping() -> dict[str, Any]:
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    signature = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": signature,
        "Host": "abc123.execute-api.us-east-1.amazonaws.com",
    }
    return api_gateway_proxy("/webhooks/github", headers, body)


def sqs_batch(queue_url: str) -> dict[str, Any]:
    trigger = {
        "delivery_id": str(uuid.uuid4()),
        "event": "push",
        "repo": "acme/infra",
        "sha": "a" * 40,
        "branch": "infra_features",
    }
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "handle-1",
                "body": json.dumps(trigger),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1764493200000",
                    "SenderId": ACCOUNT,
                    "ApproximateFirstReceiveTimestamp": "1764493200001",
                    "SequenceNumber": "18849496460467696128",
                    "MessageGroupId": "acme/infra",
                    "MessageDeduplicationId": trigger["delivery_id"],
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(json.dumps(trigger).encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_url.rsplit('/', 1)[1]}",
                "awsRegion": REGION,
            }
        ]
    }


def eventbridge(source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": "2026-11-30T09:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


def scheduled(function: str) -> dict[str, Any]:
    event = eventbridge("aws.events", "Scheduled Event", {})
    event["resources"] = [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/maestrops-{STAGE}-{function}"]
    return event


def event_for(function: str, env: dict[str, str]) -> dict[str, Any]:
    if function == "api_handler":
        return api_gateway_ping()
    if function == "dispatch_events":
        return sqs_batch(env["MAESTRO_QUEUE_URL"])
    if function == "on_runner_event":
        detail = {"run_id": "r-not-there", "sequence": 1, "status": "running"}
        return eventbridge(RUNNER_SOURCE, DETAIL_HEARTBEAT, detail)
    return scheduled(function)


def test_the_package_holds_the_requirements_and_runs_the_deploying_python(
    package: Path, functions: dict[str, dict[str, Any]], runtime_python: Path
) -> None:
    assert set(functions) == FUNCTIONS
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert {f["runtime"] for f in functions.values()} == {runtime}
    with zipfile.ZipFile(package / "deployment.zip") as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
    assert {"app.py", "chalicelib", "pydantic", "pydantic_core", "aws_lambda_powertools"} <= tops
    assert {"yaml", "jwt", "cryptography"} <= tops
    assert not {"boto3", "botocore", "moto", "pytest"} & tops
    # The clean runtime alone cannot import the dependencies: the package must bring them.
    probe = "import boto3, importlib.util as u; print(u.find_spec('pydantic') is None)"
    found = subprocess.run(
        [str(runtime_python), "-I", "-c", probe], capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "True"


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_function_imports_and_runs_in_the_clean_runtime(
    function: str,
    functions: dict[str, dict[str, Any]],
    task_dir: Path,
    runtime_python: Path,
    aws: dict[str, str],
    tmp_path: Path,
) -> None:
    handler = functions[function]["handler"]
    env = {**aws, "AWS_LAMBDA_FUNCTION_NAME": functions[function]["function_name"]}
    outcome = invoke(runtime_python, task_dir, handler, event_for(function, aws), env, tmp_path)
    assert not outcome.get("import_error"), outcome.get("traceback")
    # Every handler finishes: the store is empty, the pushed repository unknown to GitHub.
    assert outcome["phase"] == "done", outcome.get("traceback")
    if function == "api_handler":
        assert outcome["result"]["statusCode"] == 200
        assert json.loads(outcome["result"]["body"])["message"] == "pong"
    if function == "dispatch_events":
        assert outcome["result"] == {"batchItemFailures": []}
