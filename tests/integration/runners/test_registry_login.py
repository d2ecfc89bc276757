"""The image step logs in to a registry that demands it: Debian's docker-registry with
htpasswd auth over TLS on loopback, the credentials in a Secrets Manager secret (moto).

The right password pushes (skopeo reads the image back), a wrong one is refused, and the
password is in no log and in no file once the step has ended.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import warnings

import boto3
import pytest
from moto import mock_aws

from chalicelib.local.image_registry import free_port
from tests.tls import make_certificate

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # bcrypt through libxcrypt: docker-registry's htpasswd wants $2b$ hashes

pytestmark = pytest.mark.slow

PASSWORD = "registry-pa55word-for-the-bot"


@pytest.fixture
def guarded_registry(tmp_path):
    binary = shutil.which("docker-registry")
    assert binary, "docker-registry is installed by scripts/setup/runners.sh"
    cert, key = make_certificate(tmp_path, "registry")
    hashed = crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH))
    (tmp_path / "htpasswd").write_text(f"bot:{hashed}\n")
    port = free_port()
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\nlog: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: '{tmp_path / 'data'}'}}}}\n"
        f"auth: {{htpasswd: {{realm: maestrops, path: '{tmp_path / 'htpasswd'}'}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}', tls: {{certificate: '{cert}', key: '{key}'}}}}\n"
    )
    proc = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        for _ in range(200):
            url = f"https://127.0.0.1:{port}/v2/"
            probe = subprocess.run(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", url],
                                   capture_output=True, text=True)  # fmt: skip
            if probe.stdout == "401":
                break
            time.sleep(0.05)
        else:
            pytest.fail("docker-registry did not answer with auth required")
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def secrets(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        sm = boto3.client("secretsmanager")
        sm.create_secret(
            Name="good", SecretString=json.dumps({"username": "bot", "password": PASSWORD})
        )
        sm.create_secret(
            Name="bad", SecretString=json.dumps({"username": "bot", "password": "nope-nope"})
        )
        yield


def build_job(bench, sha, run_id, registry, secret):
    steps = [("images", "image_build", {
        "registry": registry, "registry_secret": secret,
        "images": [{"name": "maestrops/backend", "context": "app/backend"}],
    })]  # fmt: skip
    return bench.job(run_id, sha, steps, pipeline="ci-application", run_number=7,
                     working_dir="app")  # fmt: skip


def test_the_push_logs_in_with_the_secret_and_leaves_nothing(bench, guarded_registry, secrets):
    sha = bench.commit("images", "app")
    for run in ("ci-a", "ci-b"):  # twice: the second login starts from what the first left
        assert bench.run(build_job(bench, sha, run, guarded_registry, "good")) == 0, bench.steps_of(
            run
        )
        scratch = bench.root / f"scratch-{run}"
        assert list((scratch / "credentials").iterdir()) == []
        for path in scratch.rglob("*"):
            if path.is_file() and "containers" not in path.parts:
                assert PASSWORD.encode() not in path.read_bytes(), path
    ref = f"{guarded_registry}/maestrops/backend:7-{sha[:7]}"
    inspected = subprocess.run(
        ["skopeo", "inspect", "--tls-verify=false", "--creds", f"bot:{PASSWORD}", f"docker://{ref}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    digest = json.loads(inspected.stdout)["Digest"]
    images = json.loads((bench.artifacts / "ci-b" / "images.json").read_text())
    assert images == {"maestrops/backend": f"{ref}@{digest}"}


def test_a_wrong_password_is_refused(bench, guarded_registry, secrets):
    sha = bench.commit("images", "app")
    assert bench.run(build_job(bench, sha, "ci-bad", guarded_registry, "bad")) == 1
    step = bench.steps_of("ci-bad")["images"]
    assert step["status"] == "failed" and step["reason"].startswith("push of ")
    assert "nope-nope" not in step["log_tail"]
