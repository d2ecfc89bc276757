"""What playing app.yml after monitoring.yml costs the ansible-monitoring step.

The runner's playbook step of the pipeline (``steps_for``), local mode's parameters (files
under a folder, no docker), the real ansible-playbook of .venv-ansible, against the
Terraform-shaped inventory; once with the monitoring playbook alone (the step as it was) and
once with app.yml after it (the step as it is), each ROUNDS times, alternating so that the
machine's load falls on both alike. Prints the medians and their ratio.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chalicelib.jobs import Callback, JobSpec, Pipeline, StepSpec  # noqa: E402
from chalicelib.pipelines.config import GitOpsConfig  # noqa: E402
from chalicelib.pipelines.jobspec import _local_playbook  # noqa: E402
from chalicelib.pipelines.steps import steps_for  # noqa: E402
from runners.executor import Executor  # noqa: E402

ROUNDS = 2
INVENTORY = (ROOT / "tests" / "fixtures" / "ansible" / "inventory.ini").read_text()


def repository(tmp: Path) -> tuple[Path, str]:
    repo = tmp / "repo"
    shutil.copytree(ROOT / "ansible", repo / "ansible", ignore=shutil.ignore_patterns(".cache"))
    (repo / "inventory.ini").write_text(INVENTORY)
    ident = ["-c", "user.name=b", "-c", "user.email=b@example.com"]
    for args in (["init", "-q"], ["add", "-A"], [*ident, "commit", "-q", "-m", "b"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True)
    sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    return repo, sha


def one_run(tmp: Path, repo: Path, sha: str, with_app: bool, n: int) -> float:
    [step] = [
        s for s in steps_for(Pipeline.ANSIBLE_MONITORING, GitOpsConfig())
        if s.kind == "ansible_playbook"
    ]  # fmt: skip
    step = _local_playbook(step, str(tmp / f"data-{n}"))
    step.params["extra_vars"]["grafana_admin_password"] = "bench-password"
    if not with_app:
        step.params.pop("more_playbooks")
    job = JobSpec(
        run_id=f"bench-{n}", pipeline=Pipeline.ANSIBLE_MONITORING, repo="acme/infra",
        clone_url=str(repo), sha=sha, run_number=n,
        steps=[StepSpec(name="monitoring", kind="ansible_playbook", params=step.params)],
        artifact_prefix=(tmp / "artifacts" / str(n)).as_uri() + "/",
        callback=Callback(local_dir=str(tmp / "events")),
    )  # fmt: skip
    started = time.perf_counter()
    code = Executor(job, echo=False).run(tmp / f"scratch-{n}")
    elapsed = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"run {n} failed: see {tmp / f'scratch-{n}'}")
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-monitoring-") as folder:
        tmp = Path(folder)
        repo, sha = repository(tmp)
        alone: list[float] = []
        both: list[float] = []
        for n in range(ROUNDS):
            alone.append(one_run(tmp, repo, sha, False, 2 * n + 1))
            both.append(one_run(tmp, repo, sha, True, 2 * n + 2))
        base, wired = statistics.median(alone), statistics.median(both)
        print(f"monitoring.yml alone:          median {base:6.1f} s over {ROUNDS} runs")
        print(f"monitoring.yml then app.yml:   median {wired:6.1f} s over {ROUNDS} runs")
        print(f"ratio (wired / alone):         {wired / base:.2f}x")


if __name__ == "__main__":
    main()
