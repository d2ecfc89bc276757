"""``make demo``: the seed's whole flow in local mode, start to finish, then exit.

1. A sample repository is created on disk from this project's own ``terraform/``,
   ``ansible/`` and ``app/`` (branches infra_features, infra_main, integration, deployment).
2. The local controller starts (moto for AWS, the Chalice app on loopback).
3. Signed webhooks play the flow: push to infra_features (validate), PR into infra_main
   (plan), a redelivered webhook (ignored), the merge (apply, then monitoring), a push to
   integration (images), the merge into deployment (deploy).
4. The runs table and the comments the pull requests received are printed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from chalicelib.cli.client import RunsApiClient, post_webhook
from chalicelib.cli.render import runs_table
from chalicelib.local.aws import free_port
from chalicelib.local.payloads import pull_request_payload, push_payload

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEMO_REPO = "maestrops/demo"
SETTLED = {"succeeded", "failed", "cancelled", "timed_out", "superseded", "unknown"}
WAIT_SECONDS = 600
PROGRESS_EVERY = 5.0  # seconds between two progress lines when nothing changes


def run_demo(data_dir: Path, port: int = 0) -> int:
    from chalicelib.local.controller import LocalController
    from chalicelib.observability import logger

    logger.setLevel("WARNING")
    data_dir = data_dir.resolve()
    shutil.rmtree(data_dir, ignore_errors=True)
    repo_dir = data_dir / "repos" / DEMO_REPO
    shas = build_sample_repository(repo_dir)
    controller = LocalController(port=port or free_port(), data_dir=data_dir)
    import os

    os.environ["MAESTRO_REPOS_DIR"] = str(data_dir / "repos")
    controller.start()
    try:
        chains = (
            controller.settings is not None and controller.settings.runner_backend != "recording"
        )
        player = FlowPlayer(controller.url, controller.webhook_secret, controller.api_token, chains)
        player.play(shas, repo_dir)
        runs = player.client.list_runs(limit=100)["runs"]
        (data_dir / "runs.json").write_text(json.dumps(runs, indent=2))
        print(_banner("Runs"))
        print(runs_table(runs))
        print_run_summaries(runs)
        print_outbox(data_dir / "outbox" / DEMO_REPO)
    finally:
        controller.stop()
    return 0


class FlowPlayer:
    def __init__(self, url: str, secret: str, token: str, chains: bool = True) -> None:
        self.chains = chains  # a recording backend never finishes, so nothing chains
        self.url = url
        self.secret = secret
        self.client = RunsApiClient(url, token)
        self._deliveries = 0

    def send(self, event: str, payload: dict[str, Any], delivery: str | None = None) -> str:
        self._deliveries += 1
        delivery = delivery or f"demo-{self._deliveries:03d}"
        status, body = post_webhook(
            self.url, event, json.dumps(payload).encode(), self.secret, delivery
        )
        print(f"  -> {event:<13} {delivery}: HTTP {status} {json.loads(body).get('message', '')}")
        return delivery

    def play(self, shas: dict[str, str], repo_dir: Path) -> None:
        print(_banner("Playing the seed's flow"))
        self.send("push", push_payload(DEMO_REPO, "infra_features", shas["infra"]))
        self.wait_for(1)
        opened = pull_request_payload(
            DEMO_REPO, "opened", 1, "infra_features", "infra_main", shas["infra"]
        )
        delivery = self.send("pull_request", opened)
        self.send("pull_request", opened, delivery)  # GitHub redelivery: a duplicate
        self.wait_for(2)
        merged = pull_request_payload(
            DEMO_REPO, "closed", 1, "infra_features", "infra_main", shas["infra"], merged=True
        )
        self.send("pull_request", merged)
        self.send("push", push_payload(DEMO_REPO, "infra_main", shas["infra"]))  # merge push
        runs = self.wait_for(3)
        applied = any(
            r["pipeline"] == "terraform-apply" and r["status"] == "succeeded" for r in runs
        )
        expected = 4 if applied and self.chains else 3  # monitoring follows a successful apply
        self.wait_for(expected)
        self.send("push", push_payload(DEMO_REPO, "integration", shas["app"]))
        self.wait_for(expected + 1)
        deployed = _head(repo_dir, "integration")
        merged_app = pull_request_payload(
            DEMO_REPO, "closed", 2, "integration", "deployment", deployed, merged=True
        )
        self.send("pull_request", merged_app)
        self.wait_for(expected + 2)

    def wait_for(self, count: int) -> list[dict[str, Any]]:
        """Until ``count`` runs exist and all have settled, saying what is running meanwhile.

        A line is printed when a run starts or settles, and every ``PROGRESS_EVERY`` seconds
        while nothing changes (a Terraform apply can take a minute).
        """
        deadline = time.monotonic() + WAIT_SECONDS
        started = time.monotonic()
        shown, shown_at = "", started
        while time.monotonic() < deadline:
            runs = self.client.list_runs(limit=100)["runs"]
            if len(runs) >= count and all(_settled(run) for run in runs):
                return runs
            line = progress_line(runs, count)
            now = time.monotonic()
            if line != shown or now - shown_at >= PROGRESS_EVERY:
                print(f"     [{now - started:5.1f} s] {line}", flush=True)
                shown, shown_at = line, now
            time.sleep(0.2)
        raise TimeoutError(f"runs did not settle within {WAIT_SECONDS} s")


def progress_line(runs: list[dict[str, Any]], expected: int) -> str:
    """What the demo waits for, in one line.

    >>> progress_line([{"pipeline": "terraform-plan", "status": "running",
    ...                 "run_number": 1, "steps": [{"name": "init"}]}], 2)
    'waiting: 0 of 2 runs settled; terraform-plan #1 running (after step init)'
    """
    settled = sum(1 for run in runs if _settled(run))
    busy = [
        f"{run['pipeline']} #{run.get('run_number', '?')} {run['status']}{_last_step(run)}"
        for run in runs
        if not _settled(run)
    ]
    line = f"waiting: {settled} of {max(expected, len(runs))} runs settled"
    return line + (f"; {', '.join(busy)}" if busy else "; the next run is being queued")


def _last_step(run: dict[str, Any]) -> str:
    steps = run.get("steps") or []
    return f" (after step {steps[-1].get('name')})" if steps else ""


def _settled(run: dict[str, Any]) -> bool:
    if run["status"] in SETTLED:
        return True
    return run["status"] == "dispatched" and run.get("backend") == "recording"


def build_sample_repository(repo_dir: Path) -> dict[str, str]:
    """A git repository with the project's stacks, on the seed's four branches."""
    repo_dir.mkdir(parents=True)
    git = _git_in(repo_dir)
    git("init", "-q", "-b", "main")
    for folder in ("terraform", "ansible", "app"):
        source = PROJECT_ROOT / folder
        if source.is_dir():
            shutil.copytree(source, repo_dir / folder, ignore=_IGNORED)
    for image in ("backend", "frontend"):
        # Base images cannot be pulled offline: the demo builds FROM scratch.
        context = repo_dir / "images" / image
        context.mkdir(parents=True)
        (context / "Dockerfile").write_text(f"FROM scratch\nCOPY {image}.txt /{image}.txt\n")
        (context / f"{image}.txt").write_text(f"maestrops demo {image}\n")
    terraform_dir = demo_stack()
    if terraform_dir == SEED_STACK:
        # *.auto.tfvars: loaded by Terraform, and not ignored like terraform.tfvars is.
        (repo_dir / SEED_STACK / "demo.auto.tfvars").write_text(SEED_STACK_VARS)
    (repo_dir / ".gitops.yml").write_text(sample_gitops_config(terraform_dir))
    (repo_dir / "README.md").write_text("Sample repository driven by MaestrOps.\n")
    git("add", "-A")
    git("commit", "-q", "-m", "Initial infrastructure and application")
    for branch in ("infra_main", "deployment"):
        git("branch", branch)
    git("checkout", "-q", "-b", "infra_features")
    (repo_dir / "terraform" / "CHANGELOG.md").parent.mkdir(exist_ok=True)
    (repo_dir / "terraform" / "CHANGELOG.md").write_text("- demo: a reviewed change\n")
    git("add", "-A")
    git("commit", "-q", "-m", "infra: a change to review")
    infra = git("rev-parse", "HEAD")
    git("checkout", "-q", "-b", "integration", "main")
    (repo_dir / "app" / "CHANGELOG.md").parent.mkdir(exist_ok=True)
    (repo_dir / "app" / "CHANGELOG.md").write_text("- demo: a feature\n")
    git("add", "-A")
    git("commit", "-q", "-m", "app: a feature")
    app = git("rev-parse", "HEAD")
    git("checkout", "-q", "main")
    return {"infra": infra, "app": app}


SEED_STACK = "terraform/infra"
NULL_STACK = "terraform/examples/null-stack"
SEED_STACK_VARS = """environment        = "demo"
domain             = "demo.maestrops.test"
region             = "us-east-1"
availability_zones = ["us-east-1a", "us-east-1b"]
create_hosted_zone = true
# moto has no Debian image; an Amazon Linux 2023 image of its catalogue stands in for it.
ami_owners       = ["amazon"]
ami_name_pattern = "al2023-ami-2023.*-kernel-*-x86_64"
"""


def demo_stack() -> str:
    """The seed's own stack where the AWS provider can be had, else the null-provider one.

    ``MAESTRO_DEMO_STACK=null`` forces the quick offline stack.
    """
    import os

    from runners.plugins import discover_provider_mirror

    if os.environ.get("MAESTRO_DEMO_STACK") == "null":
        return NULL_STACK
    if discover_provider_mirror("hashicorp/aws") is None:
        print(
            "note: no filesystem mirror of hashicorp/aws here, so the demo plans the "
            f"null-provider stand-in ({NULL_STACK}). With internet access, or a mirror laid "
            "out by `terraform providers mirror`, it plans and applies terraform/infra "
            "against the embedded moto server."
        )
        return NULL_STACK
    return SEED_STACK


def sample_gitops_config(terraform_dir: str) -> str:
    return (
        "# MaestrOps demo: the seed's flow in local mode\n"
        "version: 1\n"
        f"terraform:\n  dir: {terraform_dir}\n"
        "application:\n"
        "  images:\n"
        "    - {name: maestrops/backend, context: images/backend}\n"
        "    - {name: maestrops/frontend, context: images/frontend}\n"
    )


_IGNORED = shutil.ignore_patterns(
    ".terraform", "node_modules", "dist", "__pycache__", "*.tfstate*", ".venv*"
)


def _git_in(repo_dir: Path):
    env = {
        "GIT_AUTHOR_NAME": "MaestrOps Demo",
        "GIT_AUTHOR_EMAIL": "demo@maestrops.invalid",
        "GIT_COMMITTER_NAME": "MaestrOps Demo",
        "GIT_COMMITTER_EMAIL": "demo@maestrops.invalid",
        "PATH": "/usr/bin:/bin:/usr/local/bin",
    }

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(repo_dir), *args], capture_output=True, text=True, env=env, check=True
        )
        return done.stdout.strip()

    return git


def _head(repo_dir: Path, branch: str) -> str:
    return _git_in(repo_dir)("rev-parse", branch)


def print_run_summaries(runs: list[dict[str, Any]]) -> None:
    print(_banner("What each run did"))
    for run in sorted(runs, key=lambda r: r["created_at"]):
        print(f"{run['pipeline']} #{run['run_number']}: {run['status']}")
        for step in run.get("steps") or []:
            note = f" — {step['reason']}" if step.get("reason") else ""
            print(f"    {step['status']:<9} {step['name']}{note}")
        if run.get("error"):
            print(f"    error: {run['error'].splitlines()[0]}")


def print_outbox(outbox: Path) -> None:
    print(_banner("Comments on the pull requests"))
    comments = sorted((outbox / "comments").glob("*.md")) if outbox.exists() else []
    for path in comments:
        print(f"--- PR {path.stem}")
        print(path.read_text().rstrip())
    if not comments:
        print("(none)")


def _banner(title: str) -> str:
    return f"\n== {title} " + "=" * max(0, 60 - len(title))
