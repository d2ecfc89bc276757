"""The registry setting and the push credentials: validated host, ECR through the runner's
identity (moto), a registry secret, and an auth file that never outlives the step."""

from __future__ import annotations

import base64
import json

import boto3
import pytest
from moto import mock_aws

from runners.exceptions import StepFailedError
from runners.registry import auth_file, credentials, registry_host

ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


@pytest.mark.parametrize(
    ("value", "host"),
    [
        (ECR, ECR),
        (f"{ECR}/maestrops-prod", ECR),
        ("registry.example.com:5000/team/apps", "registry.example.com:5000"),
        ("localhost:5000", "localhost:5000"),
    ],
)
def test_registry_settings_that_name_a_host(value, host):
    assert registry_host(value) == host


@pytest.mark.parametrize(
    "value",
    ["", "https://registry.example.com", "user:pw@registry.example.com", "Registry.example.com",
     "registry.example.com/../x", "registry.example.com/a b", "registry.example.com\nx"],
)  # fmt: skip
def test_anything_else_is_refused(value):
    with pytest.raises(StepFailedError, match="is not host"):
        registry_host(value)


@pytest.fixture
def aws(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "eu-west-1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


def test_ecr_credentials_come_from_the_runners_identity(aws):
    user, password = credentials(ECR, None)
    assert user == "AWS" and password
    token = boto3.client("ecr").get_authorization_token()["authorizationData"][0]
    assert base64.b64decode(token["authorizationToken"]).decode().startswith("AWS:")


def test_a_registry_secret_gives_user_and_password(aws):
    sm = boto3.client("secretsmanager")
    sm.create_secret(Name="reg", SecretString=json.dumps({"username": "bot", "password": "pw-1"}))
    assert credentials("registry.example.com", "reg") == ("bot", "pw-1")
    sm.create_secret(Name="bad", SecretString="pw-only-s3cret")
    with pytest.raises(StepFailedError, match="not a JSON object") as failed:
        credentials("registry.example.com", "bad")
    assert "s3cret" not in str(failed.value)


def test_a_remote_registry_without_credentials_is_refused_and_loopback_needs_none():
    with pytest.raises(StepFailedError, match="MAESTRO_REGISTRY_SECRET"):
        credentials("registry.example.com", None)
    assert credentials("localhost:5000", None) is None


def test_auth_file_is_private_and_removed_on_every_outcome(tmp_path):
    for fails in (False, True, False):
        try:
            with auth_file(tmp_path / "credentials", ECR, ("AWS", "pa55")) as args:
                assert args[0] == "--authfile"
                path = tmp_path / args[1]
                assert path.stat().st_mode & 0o777 == 0o600
                assert path.parent.stat().st_mode & 0o777 == 0o700
                auth = json.loads(path.read_text())["auths"][ECR]["auth"]
                assert base64.b64decode(auth) == b"AWS:pa55"
                if fails:
                    raise RuntimeError("push failed")
        except RuntimeError:
            pass
        assert list((tmp_path / "credentials").iterdir()) == []
    with auth_file(tmp_path / "credentials", "localhost:5000", None) as args:
        assert args == []
