"""Where ci-application pushes images, and the credentials it pushes with.

The registry is the operator's setting, never the repository's: a repository that could
name the host would receive the registry's password. It is ECR (credentials from the
runner's own identity, ``ecr:GetAuthorizationToken``), a host whose credentials are a
Secrets Manager secret ``{"username", "password"}``, or a registry on loopback (local mode)
that needs none. Credentials go to a containers auth file (0600, in a fresh 0700 folder)
that the push reads, removed when the step ends: never argv, never a tool's environment.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from runners.exceptions import StepFailedError

# host[:port][/namespace...]: the distribution reference grammar's domain and path, lower case.
_HOST = r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[0-9]{1,5})?"
_PATH = r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
REGISTRY = re.compile(rf"^(?P<host>{_HOST}|\[::1\](?::[0-9]{{1,5}})?){_PATH}$")
ECR_HOST = re.compile(r"^[0-9]{12}\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


def registry_host(value: str) -> str:
    """The host of a validated registry setting; anything else is refused.

    >>> registry_host("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team")
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com'
    >>> registry_host("evil.example.com@attacker")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    runners.exceptions.StepFailedError: registry 'evil.example.com@attacker' is not host...
    """
    found = REGISTRY.match(value or "")
    if not found:
        raise StepFailedError(f"registry {value!r} is not host[:port][/path]", 1)
    return found.group("host")


def is_loopback(host: str) -> bool:
    return host.rsplit(":", 1)[0] in LOOPBACK or host in LOOPBACK


class RegistrySecret(BaseModel):
    username: str = Field(min_length=1)
    password: str = Field(min_length=1)


def ecr_credentials(host: str, ecr_client: Any) -> tuple[str, str]:
    """ECR's user and password for ``host``, from the runner's identity."""
    data = ecr_client.get_authorization_token()["authorizationData"]
    for entry in data:
        endpoint = entry.get("proxyEndpoint", "").removeprefix("https://")
        if endpoint in ("", host):
            user, _, password = (
                base64.b64decode(entry["authorizationToken"]).decode().partition(":")
            )
            if user and password:
                return user, password
    raise StepFailedError(f"ECR returned no authorization token for {host}", 1)


def secret_credentials(secret_id: str, secrets_client: Any) -> tuple[str, str]:
    raw = secrets_client.get_secret_value(SecretId=secret_id)["SecretString"]
    try:
        secret = RegistrySecret.model_validate_json(raw)
    except ValidationError:
        # The message would quote the value: name the secret and the shape only.
        raise StepFailedError(
            f"registry secret {secret_id} is not a JSON object with username and password", 1
        ) from None
    return secret.username, secret.password


def credentials(
    host: str, secret_id: str | None, clients: dict[str, Any] | None = None
) -> tuple[str, str] | None:
    """The user and password to push to ``host`` with, or None when it needs none."""
    clients = clients or {}
    if secret_id:
        return secret_credentials(
            secret_id, clients.get("secretsmanager") or _client("secretsmanager")
        )
    found = ECR_HOST.match(host)
    if found:
        client = clients.get("ecr") or _client("ecr", region_name=found.group("region"))
        return ecr_credentials(host, client)
    if is_loopback(host):
        return None
    raise StepFailedError(
        f"registry {host} is neither ECR nor on loopback and has no registry secret "
        "(MAESTRO_REGISTRY_SECRET)",
        1,
    )


def _client(name: str, **kwargs: Any) -> Any:
    import boto3  # lazy: local registries need no AWS

    return boto3.client(name, **kwargs)


@contextmanager
def auth_file(folder: Path, host: str, login: tuple[str, str] | None) -> Iterator[list[str]]:
    """``--authfile PATH`` arguments for the push (empty without credentials); the file is
    0600 in a fresh 0700 folder and removed on every outcome."""
    if login is None:
        yield []
        return
    folder.mkdir(parents=True, exist_ok=True)
    private = Path(tempfile.mkdtemp(prefix="registry-auth-", dir=folder))
    try:
        path = private / "auth.json"
        encoded = base64.b64encode(f"{login[0]}:{login[1]}".encode()).decode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"auths": {host: {"auth": encoded}}}, handle)
        yield ["--authfile", str(path)]
    finally:
        shutil.rmtree(private, ignore_errors=True)
