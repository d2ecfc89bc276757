"""Cold start: importing app.py in a fresh interpreter, against boto3 + powertools alone.

Target: at most 1.5x. Each side runs in its own fresh interpreter, alternating, and the
median of the self-reported import times is compared (interpreter start-up excluded).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 15
PROBE = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"


def import_seconds(stmt: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(stmt=stmt)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    app, baseline = [], []
    for _ in range(ROUNDS):
        app.append(import_seconds("import app"))
        baseline.append(import_seconds("import boto3, aws_lambda_powertools"))
    app_ms = statistics.median(app) * 1000
    base_ms = statistics.median(baseline) * 1000
    print(f"import app.py:                      {app_ms:7.1f} ms (median of {ROUNDS})")
    print(f"import boto3 + aws_lambda_powertools: {base_ms:7.1f} ms")
    print(f"ratio: {app_ms / base_ms:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
