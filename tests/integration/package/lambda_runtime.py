"""What the Lambda Python runtime gives a packaged function, shared by the package test and
``make test-aws``: a clean Python holding only the runtime's boto3, and API Gateway's REST
proxy event as it reaches the function."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

# The boto3 the Lambda Python 3.11 runtime ships; the package must not need more.
RUNTIME_BOTO3 = "1.43.107"
MOTO_ACCOUNT = "123456789012"


def make_runtime_python(env_dir: Path) -> Path:
    """A virtual environment in ``env_dir`` with only the standard library and boto3/botocore;
    returns its python."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--clear", "--without-pip", str(env_dir)], check=True
    )
    python = env_dir / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    subprocess.run([*pip, f"boto3=={RUNTIME_BOTO3}"], check=True, timeout=300)
    return python


def api_gateway_proxy(
    resource: str,
    headers: dict[str, str],
    body: bytes,
    stage: str = "api",
    method: str = "POST",
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A request to ``resource`` (``/runs/{run_id}``) as API Gateway's proxy integration hands
    it to the function: ``path_parameters`` fill the template, ``query`` is the query string."""
    path = resource
    for name, value in (path_parameters or {}).items():
        path = path.replace("{" + name + "}", value)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{stage}{path}",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "accountId": MOTO_ACCOUNT,
            "apiId": "abc123",
            "identity": {
                "sourceIp": "140.82.115.1",
                "userAgent": headers.get("User-Agent", "GitHub-Hookshot/1"),
            },
        },
        "body": body.decode() if body else None,
        "isBase64Encoded": False,
    }
