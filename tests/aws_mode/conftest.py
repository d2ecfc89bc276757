"""The AWS-mode stack of ``make test-aws``: moto on loopback, the controller deployed to it by
``scripts/deploy.py``, the packaged functions, a fake GitHub over TLS and the runners' executor.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.functional.github.fake_github import FakeGitHub, app_key_pair
from tests.functional.github.openapi_check import OpenApiChecker
from tests.integration.package.lambda_runtime import make_runtime_python
from tests.tls import make_certificate, serve_tls

REPO = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
STAGE = "prod"
APP_ID = "424242"
INSTALLATION_ID = "77"
GITHUB_REPO = "acme/infra"
# Older than pyproject's boto3 pin, as the Lambda runtime's own copy is (the package test's).
PROJECT = ("terraform", "app.py", "chalicelib", ".chalice", "requirements.txt", "scripts")


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("moto")
    port_file, recording = folder / "port", folder / "recording.jsonl"
    ssm_hosts = folder / "ssm-hosts"
    ssm_hosts.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "PYTHONPATH": str(REPO),
        "MOTO_RECORDER_FILEPATH": str(recording),
        "MOTO_SSM_HOSTS": str(ssm_hosts),
    }
    log = (folder / "moto.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.aws_mode.moto_host", str(port_file)],
        cwd=REPO, env=env, stdout=log, stderr=log,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text():
            assert process.poll() is None, (folder / "moto.log").read_text()
            assert time.monotonic() < deadline, "moto did not start"
            time.sleep(0.2)
        endpoint = f"http://127.0.0.1:{port_file.read_text()}"

        def client(service: str) -> Any:
            return boto3.client(
                service,
                endpoint_url=endpoint,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )

        yield {"endpoint": endpoint, "client": client, "recording": recording,
               "ssm_hosts": ssm_hosts}  # fmt: skip
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def start_recording(endpoint: str) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/recorder/start-recording", data=b"", method="POST"
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


@pytest.fixture(scope="module")
def app_key() -> tuple[str, str]:
    return app_key_pair()


@pytest.fixture(scope="module")
def github(
    app_key: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    cert, key = make_certificate(tmp_path_factory.mktemp("tls"))
    fake = FakeGitHub(OpenApiChecker(), app_id=APP_ID, app_public_key=app_key[1])
    fake.token_expiry = "2099-01-01T00:00:00Z"  # the functions run on the wall clock
    serve_tls(fake._server, cert, key)
    fake.start()
    port = fake._server.server_address[1]
    yield {"fake": fake, "url": f"https://127.0.0.1:{port}", "ca": cert}
    fake.stop()
    assert fake.violations == [], "requests GitHub's OpenAPI description does not allow"


def terraform_env(home: Path, endpoint: str) -> dict[str, str]:
    """What an operator's shell holds for docs/deploy.md: region, credentials, Terraform."""
    from runners.plugins import discover_provider_mirror

    mirror = discover_provider_mirror("hashicorp/aws")
    if mirror is None:
        pytest.skip(
            "no filesystem mirror of hashicorp/aws: lay one out with `terraform providers "
            "mirror DIR` on a connected machine and point TF_PLUGIN_CACHE_DIR or "
            "MAESTRO_TF_PROVIDER_MIRRORS at it"
        )
    rc = home / "terraform.rc"
    rc.write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n'
    )
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TF_CLI_CONFIG_FILE": str(rc),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def copy_project(destination: Path) -> Path:
    ignore = shutil.ignore_patterns(
        "__pycache__", "*.pyc", ".terraform*", "*.tfstate*", "deployments", "terraform.tfvars"
    )
    destination.mkdir(parents=True)
    for name in PROJECT:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=ignore)
        else:
            shutil.copy2(source, destination / name)
    return destination


def deploy(root: Path, env: dict[str, str], steps: str, report: Path) -> dict[str, Any]:
    """``make deploy``'s script on ``root``, as the operator runs it."""
    done = subprocess.run(
        [sys.executable, str(root / "scripts" / "deploy.py"), "--stage", STAGE, "--root",
         str(root), "--steps", steps, "--report", str(report)],
        cwd=root, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-5000:]
    result: dict[str, Any] = json.loads(report.read_text())
    result["log"] = done.stderr
    return result


@pytest.fixture(scope="module")
def deployed(moto, github, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("deploy")
    root = copy_project(tmp / "maestrops")
    env = terraform_env(tmp, moto["endpoint"])
    bootstrap = deploy(root, env, "bootstrap", tmp / "bootstrap.json")["bootstrap"]
    # moto speaks plain HTTP only, and the state bucket's TLS-only policy refuses that (moto
    # applies the Deny whatever the transport): the one change made to the deployed account.
    moto["client"]("s3").delete_bucket_policy(Bucket=bootstrap["state_bucket"])
    # The operator's network for Fargate runners: a VPC and a private subnet.
    ec2 = moto["client"]("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    # DNS hostnames on, as in the usual runner VPC (moto 5.2.5's RunTask fails without them).
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24")["Subnet"]["SubnetId"]
    tfvars = {
        "region": REGION,
        "runner_vpc_id": vpc,
        "runner_subnet_ids": [subnet],
        "allowed_repos": [GITHUB_REPO],
        "github_app_id": APP_ID,
        "github_installation_id": INSTALLATION_ID,
        "github_api_url": github["url"],
        "state_bucket": bootstrap["state_bucket"],
        "state_lock_table": bootstrap["lock_table"],
        "ssm_runner_instance_ids": ["i-0a1b2c3d4e5f60718"],
    }
    (root / "terraform" / "controller" / "terraform.tfvars.json").write_text(json.dumps(tfvars))
    first = deploy(root, env, "controller,package", tmp / "controller.json")
    # The artifacts bucket has the same TLS-only policy; kept for the test to read, then gone.
    s3 = moto["client"]("s3")
    artifacts = first["controller"]["lambda_environment"]["MAESTRO_ARTIFACTS_BUCKET"]
    policy = json.loads(s3.get_bucket_policy(Bucket=artifacts)["Policy"])
    s3.delete_bucket_policy(Bucket=artifacts)
    return {
        "root": root, "env": env, "bootstrap": bootstrap, "tfvars": tfvars,
        "artifacts_policy": policy, **first,
    }  # fmt: skip


@pytest.fixture(scope="module")
def runtime_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_runtime_python(tmp_path_factory.mktemp("lambda-runtime"))


@pytest.fixture(scope="module")
def task_dir(deployed: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    task = tmp_path_factory.mktemp("var-task")
    with zipfile.ZipFile(Path(deployed["package"]) / "deployment.zip") as archive:
        archive.extractall(task)
    return task
