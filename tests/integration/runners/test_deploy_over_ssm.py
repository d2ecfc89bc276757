"""cd-application in AWS mode: the runner's compose_deploy step sends the deploy over SSM
(moto) to the app hosts only, and the command it sends, run by bash on a stand-in host,
puts the deployed commit's compose file and Traefik routes in place, reads the app secret
into a 0600 .env that is gone afterwards, and passes only when the backend answers."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from chalicelib.jobs import Callback
from runners.executor import Executor
from runners.steps.deploy import DEFAULT_HEALTH_EXPECT

from .test_compose_deploy_script import AWS, DOCKER, Answers

pytestmark = pytest.mark.slow

BUCKET = "maestrops-artifacts"
ROUTES = "http:\n  routers: {}\n"


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield


def hosts(role: str, count: int) -> list[str]:
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "Role", "Value": role}]}]
    started = boto3.client("ec2").run_instances(
        ImageId="ami-12c6146b", MinCount=count, MaxCount=count, TagSpecifications=tags
    )
    return sorted(i["InstanceId"] for i in started["Instances"])


@pytest.fixture
def app_commit(bench):
    app = bench.repo / "app"
    (app / "traefik" / "dynamic").mkdir(parents=True)
    (app / "docker-compose.yml").write_text("services:\n  web:\n    image: nginx\n")
    (app / "traefik" / "dynamic" / "routes.yml").write_text(ROUTES)
    return bench.write_and_commit("app/.keep", "")


def deploy_job(bench, sha, run_id, **params):
    step = {"compose_file": "app/docker-compose.yml", "health_path": "/api/health", **params}
    return bench.job(
        run_id, sha, [("deploy", "compose_deploy", step)], pipeline="cd-application",
        working_dir="app", artifact_prefix=f"s3://{BUCKET}/runs/{run_id}/", callback=Callback(),
    )  # fmt: skip


def run_on_host(commands: list[str], tmp_path: Path, url: str) -> subprocess.CompletedProcess:
    """Run the sent command the way AWS-RunShellScript does, with docker and aws stand-ins."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in (("docker", DOCKER), ("aws", AWS)):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    script = "\n".join(commands).replace("https://127.0.0.1/api/health", url)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "RECORD": str(tmp_path / "record"),
        "FAIL_ON": "never",
        "MAESTRO_HEALTH_DELAY": "0",
    }
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def test_deploy_goes_to_the_app_hosts_with_compose_file_and_routes(
    bench, aws, app_commit, tmp_path
):
    app_hosts, _ = hosts("app", 2), hosts("monitoring", 1)
    host_dir = tmp_path / "host" / "app"
    server, handler = _server()
    try:
        for attempt in (1, 2):  # a second deploy of the same commit finds the first one's files
            run_id = f"cd-{attempt}"
            job = deploy_job(bench, app_commit, run_id, app_dir=str(host_dir))
            assert Executor(job, env=bench.env, echo=False).run(bench.root / run_id) == 0

            (sent,) = [
                c for c in boto3.client("ssm").list_commands()["Commands"]
                if c["OutputS3KeyPrefix"] == f"runs/{run_id}/ssm/deploy"
            ]  # fmt: skip
            # moto's record of InstanceIds is not what was sent; the step names its hosts.
            assert _reason(run_id) == f"SSM {sent['CommandId']} on {', '.join(app_hosts)}"
            assert sent["DocumentName"] == "AWS-RunShellScript"
            commands = sent["Parameters"]["commands"]
            assert f"'--health-expect' '{DEFAULT_HEALTH_EXPECT}'" in commands[-1]
            assert "'--health-url' 'https://127.0.0.1/api/health'" in commands[-1]

            done = run_on_host(
                commands, tmp_path, f"http://127.0.0.1:{server.server_port}/api/health"
            )
            assert done.returncode == 0, done.stderr
            assert (host_dir / "docker-compose.yml").read_text() == (
                bench.repo / "app" / "docker-compose.yml"
            ).read_text()
            assert (host_dir / "traefik" / "dynamic" / "routes.yml").read_text() == ROUTES
            assert not (host_dir / ".env").exists()
            record = (tmp_path / "record").read_text()
            assert "env-mode=600" in record and "s3cret" in record

        handler.mode = "frontend"  # the app is not answering: the same command now fails
        done = run_on_host(commands, tmp_path, f"http://127.0.0.1:{server.server_port}/api/health")
        assert done.returncode == 1 and "not healthy" in done.stderr
        assert not (host_dir / ".env").exists()
    finally:
        server.shutdown()
        server.server_close()


def test_no_app_host_fails_the_step_without_sending(bench, aws, app_commit):
    hosts("monitoring", 1)
    job = deploy_job(bench, app_commit, "cd-none")
    assert Executor(job, env=bench.env, echo=False).run(bench.root / "cd-none") == 1
    assert boto3.client("ssm").list_commands()["Commands"] == []
    assert _reason("cd-none").startswith("NoInstances: no running host tagged Role=app")


def _reason(run_id: str) -> str:
    key = f"runs/{run_id}/results/deploy.json"
    return json.loads(boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())[
        "reason"
    ]


def _server():
    import http.server
    import threading

    handler = type("Handler", (Answers,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler
