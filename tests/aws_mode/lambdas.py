"""The packaged functions, invoked as Lambda does, with the event shapes AWS delivers.

Each call runs ``tests/integration/package/lambda_invoke.py`` in a clean Python that holds only
the standard library and the Lambda runtime's boto3, inside the unzipped ``deployment.zip``
the deploy command built. A function's environment is the controller's ``lambda_environment``
output (what terraform/controller gives every function) plus what the Lambda service adds:
the credentials of the function's own execution role (``lambda_role_arns``), as an IAM user
holding exactly that role's policies, with moto enforcing IAM while the function runs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import uuid
from pathlib import Path
from typing import Any, Protocol

from tests.integration.package.lambda_runtime import MOTO_ACCOUNT, api_gateway_proxy

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "tests" / "integration" / "package" / "lambda_invoke.py"
ACCOUNT = MOTO_ACCOUNT


class Identities(Protocol):
    """What gives a role's keys and turns moto's IAM check on and off (the executor)."""

    def credentials_of(self, role_arn: str) -> tuple[str, str, dict[str, Any]]: ...

    def enforce_iam(self, on: bool) -> None: ...


class Lambdas:
    def __init__(
        self,
        python: Path,
        task: Path,
        handlers: dict[str, str],
        names: dict[str, str],
        env: dict[str, str],
        tmp: Path,
        roles: dict[str, str],
        identities: Identities,
    ) -> None:
        self.python, self.task, self.handlers, self.names = python, task, handlers, names
        self.env, self.tmp, self.roles, self.identities = env, tmp, roles, identities
        self.region = env["AWS_REGION"]
        self.stdout: list[str] = []  # every function's output: its logs and EMF metrics

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        event_file = self.tmp / f"{function}-{uuid.uuid4().hex}.json"
        event_file.write_text(json.dumps(event))
        key_id, secret, _ = self.identities.credentials_of(self.roles[function])
        env = {
            **self.env,
            "AWS_LAMBDA_FUNCTION_NAME": self.names[function],
            "AWS_ACCESS_KEY_ID": key_id,
            "AWS_SECRET_ACCESS_KEY": secret,
        }
        self.identities.enforce_iam(True)
        try:
            done = subprocess.run(
                [str(self.python), "-I", str(HARNESS), str(self.task), self.handlers[function],
                 str(event_file)],
                env=env, capture_output=True, text=True, timeout=300, check=False,
            )  # fmt: skip
        finally:
            self.identities.enforce_iam(False)
        self.stdout.append(done.stdout)
        # Beside the event: what the function printed, for reading after a failure.
        event_file.with_suffix(".out").write_text(done.stdout + done.stderr)
        lines = [x for x in done.stdout.splitlines() if x.startswith("OUTCOME ")]
        assert lines, done.stdout[-3000:] + done.stderr[-3000:]
        outcome = json.loads(lines[-1].removeprefix("OUTCOME "))
        assert outcome["phase"] == "done", outcome.get("traceback")
        return outcome["result"]

    # -- event shapes ----------------------------------------------------------------------
    def webhook(self, event: str, payload: dict[str, Any], secret: str, delivery: str) -> Any:
        body = json.dumps(payload).encode()
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/7c1b1b5",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-GitHub-Hook-ID": "1",
            "X-Hub-Signature-256": signature,
            "Host": f"abc123.execute-api.{self.region}.amazonaws.com",
        }
        proxy = api_gateway_proxy("/webhooks/github", headers, body)
        return self.invoke("api_handler", proxy)

    def api(
        self,
        method: str,
        resource: str,
        path_parameters: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """A runs API request as API Gateway passes it on once IAM has signed the caller in:
        (status, JSON body)."""
        headers = {
            "Accept": "application/json",
            "User-Agent": "maestro-cli",
            "Host": f"abc123.execute-api.{self.region}.amazonaws.com",
        }
        proxy = api_gateway_proxy(
            resource, headers, b"", method=method, path_parameters=path_parameters, query=query
        )
        answer = self.invoke("api_handler", proxy)
        return answer["statusCode"], json.loads(answer["body"] or "null")

    def sqs_batch(self, queue_arn: str, messages: list[dict[str, Any]]) -> Any:
        """Messages as ReceiveMessage gave them (all attributes), as the event source mapping
        hands them to the function."""
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": self.region,
            }
            for m in messages
        ]
        return self.invoke("dispatch_events", {"Records": records})

    def scheduled(self, function: str) -> Any:
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT,
            "time": "2026-11-30T09:00:00Z",
            "region": self.region,
            "resources": [f"arn:aws:events:{self.region}:{ACCOUNT}:rule/{self.names[function]}"],
            "detail": {},
        }
        return self.invoke(function, event)

    def metrics(self) -> list[dict[str, Any]]:
        """The EMF documents the functions printed (CloudWatch Logs turns them into metrics)."""
        found = []
        for out in self.stdout:
            for line in out.splitlines():
                if line.startswith("{") and '"_aws"' in line:
                    found.append(json.loads(line))
        return found
