"""Runner overhead: a plan run through the executor vs bare ``terraform init && terraform plan``.

Both sides use the same configuration (the null-provider stack of the runner's tests), the same
Terraform binary and plugin directory. The executor adds the git checkout, ``show -json``, the
plan summary, the state read, artifacts and events. Target: at most 1.2x.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chalicelib.jobs import Callback, JobSpec, StepSpec  # noqa: E402
from runners.executor import Executor  # noqa: E402
from runners.plugins import ensure_plugin_dir  # noqa: E402
from runners.terraform_cli import find_terraform  # noqa: E402

CONFIG = ROOT / "tests" / "fixtures" / "runners" / "terraform" / "null-ok"
ROUNDS = 5


def bare(tmp: Path, env: dict[str, str], plugins: Path, n: int, show: bool = False) -> float:
    """``terraform init && terraform plan`` (and ``show -json`` when asked) in a fresh copy."""
    work = tmp / f"bare-{n}-{show}"
    shutil.copytree(CONFIG, work)
    terraform = find_terraform(env)
    commands = [
        ["init", "-input=false", f"-plugin-dir={plugins}"],
        ["plan", "-input=false", "-out=plan.tfplan"],
    ]
    if show:
        commands.append(["show", "-json", "plan.tfplan"])
    started = time.perf_counter()
    for args in commands:
        subprocess.run([terraform, *args], cwd=work, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def through_executor(
    tmp: Path, env: dict[str, str], repo: Path, sha: str, n: int, cli: bool = False
) -> float:
    run_id = f"bench-{n}-{'cli' if cli else 'lib'}"
    job = JobSpec(
        run_id=run_id, pipeline="terraform-plan", repo="bench/null", clone_url=str(repo),
        sha=sha, run_number=n,
        steps=[StepSpec(name="init", kind="terraform_init"),
               StepSpec(name="plan", kind="terraform_plan")],
        artifact_prefix=(tmp / "artifacts" / run_id).as_uri() + "/",
        callback=Callback(local_dir=str(tmp / "events")),
    )  # fmt: skip
    started = time.perf_counter()
    if cli:
        path = tmp / f"{run_id}.json"
        path.write_text(job.model_dump_json())
        args = [sys.executable, "-m", "runners", "run", "--job", str(path)]
        code = subprocess.run(args, env=env, cwd=ROOT, capture_output=True).returncode
    else:
        code = Executor(job, env=env, echo=False).run(tmp / f"scratch-{n}")
    elapsed = time.perf_counter() - started
    assert code == 0, "the executor's plan failed"
    return elapsed


def make_repo(tmp: Path) -> tuple[Path, str]:
    repo = tmp / "repo"
    shutil.copytree(CONFIG, repo)
    ident = ["-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "stack"]):
        subprocess.run(["git", *ident, "-C", str(repo), *args], check=True)
    sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    return repo, sha


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-runner-") as name:
        tmp = Path(name)
        (tmp / "terraformrc").write_text("")
        plugins = ensure_plugin_dir(tmp / "plugins")
        env = {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(tmp / "terraformrc"),
            "MAESTRO_TF_PLUGIN_DIR": str(plugins),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
        }
        repo, sha = make_repo(tmp)
        bare(tmp, env, plugins, -1)  # warm the page cache for the provider binary
        bare_times, show_times, exec_times, cli_times = [], [], [], []
        for n in range(ROUNDS):
            bare_times.append(bare(tmp, env, plugins, n))
            show_times.append(bare(tmp, env, plugins, n, show=True))
            exec_times.append(through_executor(tmp, env, repo, sha, n))
            cli_times.append(through_executor(tmp, env, repo, sha, n, cli=True))
    b, s = statistics.median(bare_times), statistics.median(show_times)
    e, c = statistics.median(exec_times), statistics.median(cli_times)
    print(f"bare terraform init+plan: median {b:.2f} s over {ROUNDS} rounds")
    print(f"bare terraform init+plan+show -json (what the plan summary needs): {s:.2f} s")
    print(f"executor in process (checkout, init, plan, show -json, summary, artifacts): {e:.2f} s")
    print(f"python -m runners run (the same, plus interpreter start and imports): {c:.2f} s")
    print(f"runner overhead ratio: {e / b:.2f}x in process, {c / b:.2f}x as a process"
          " (target <= 1.2x)")  # fmt: skip
    print(f"against init+plan+show -json: {e / s:.2f}x in process, {c / s:.2f}x as a process")


if __name__ == "__main__":
    main()
