"""``chalice package --pkg-format terraform``, then a check of what it produced.

Chalice builds the package for the Python that runs it: the functions' runtime is
``python<major>.<minor>`` of this interpreter (Chalice has no setting for it), and the
dependencies of ``requirements.txt`` are the wheels for that version. Rewriting the runtime
afterwards would ship compiled wheels (pydantic-core, cryptography) built for another Python,
so this wrapper does not; it refuses a package whose functions do not all run the deploying
Python, or whose zip lacks a distribution that ``requirements.txt`` lists.

    .venv/bin/python scripts/chalice_package.py --stage prod build/chalice

``AWS_REGION`` alone is enough: Chalice reads ``AWS_DEFAULT_REGION``, which this sets from it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def deploying_runtime() -> str:
    """The Lambda runtime Chalice picks for this interpreter, e.g. ``python3.11``."""
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def required_distributions(requirements: str) -> set[str]:
    """Normalised names of the distributions a requirements file lists.

    >>> sorted(required_distributions("# c\\nPyJWT==2.15.1\\naws-lambda-powertools==3.37.0\\n"))
    ['aws_lambda_powertools', 'pyjwt']
    """
    names = set()
    for line in requirements.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(_normalise(re.split(r"[<>=!~;\[ ]", line, maxsplit=1)[0]))
    return names


def packaged_distributions(deployment_zip: Path) -> set[str]:
    """Normalised names of the ``*.dist-info`` directories at the zip's top level."""
    with zipfile.ZipFile(deployment_zip) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
    return {_normalise(top.split("-", 1)[0]) for top in tops if top.endswith(".dist-info")}


def function_runtimes(package: dict[str, Any]) -> dict[str, str]:
    functions = package.get("resource", {}).get("aws_lambda_function", {})
    return {name: str(function.get("runtime")) for name, function in functions.items()}


def check_package(out: Path, requirements: str, runtime: str) -> list[str]:
    """What is wrong with the package in ``out``; empty when it is deployable."""
    problems = []
    runtimes = function_runtimes(json.loads((out / "chalice.tf.json").read_text()))
    if not runtimes:
        problems.append("no aws_lambda_function in chalice.tf.json")
    for name, found in sorted(runtimes.items()):
        if found != runtime:
            problems.append(f"{name}: runtime {found}, expected {runtime}")
    missing = required_distributions(requirements) - packaged_distributions(out / "deployment.zip")
    problems += [f"deployment.zip lacks {name}" for name in sorted(missing)]
    return problems


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--project-dir", type=Path, default=ROOT)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    env = dict(os.environ)
    if env.get("AWS_REGION") and not env.get("AWS_DEFAULT_REGION"):
        env["AWS_DEFAULT_REGION"] = env["AWS_REGION"]
    chalice = str(Path(sys.executable).parent / "chalice")
    package = ["package", "--pkg-format", "terraform", "--stage", args.stage]
    subprocess.run(
        [chalice, "--project-dir", str(args.project_dir), *package, str(args.out.resolve())],
        env=env,
        check=True,
    )
    requirements = (args.project_dir / "requirements.txt").read_text()
    problems = check_package(args.out, requirements, deploying_runtime())
    if problems:
        raise SystemExit("chalice package: " + "; ".join(problems))
    print(f"{args.out}: functions on {deploying_runtime()}", file=sys.stderr)


if __name__ == "__main__":
    main()
