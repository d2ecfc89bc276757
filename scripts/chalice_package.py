"""``chalice package --pkg-format terraform`` with the runtime the stage asks for.

Chalice picks the Lambda runtime from the Python that runs it; ``.chalice/config.json`` names
the runtime per stage (``lambda_runtime``), and this wrapper writes it into every function of
the generated ``chalice.tf.json``, so a package built on any Python targets the same runtime.

    python scripts/chalice_package.py --stage prod out/
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def stage_runtime(config: dict[str, Any], stage: str) -> str:
    runtime = config["stages"][stage].get("lambda_runtime")
    if not runtime or not runtime.startswith("python3."):
        raise SystemExit(f"stage {stage}: lambda_runtime must name a python3.x runtime")
    return str(runtime)


def apply_runtime(package: dict[str, Any], runtime: str) -> int:
    """Set ``runtime`` on every aws_lambda_function; returns how many were changed."""
    functions = package.get("resource", {}).get("aws_lambda_function", {})
    for function in functions.values():
        function["runtime"] = runtime
    return len(functions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    runtime = stage_runtime(config, args.stage)
    subprocess.run(
        ["chalice", "package", "--pkg-format", "terraform", "--stage", args.stage, str(args.out)],
        cwd=ROOT,
        check=True,
    )
    package_file = args.out / "chalice.tf.json"
    package = json.loads(package_file.read_text())
    changed = apply_runtime(package, runtime)
    package_file.write_text(json.dumps(package, indent=2))
    print(f"{changed} functions set to {runtime}", file=sys.stderr)


if __name__ == "__main__":
    main()
