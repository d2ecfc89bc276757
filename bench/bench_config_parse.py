"""``.gitops.yml`` parsing: a 1 MB file before and after the size cap and libyaml's loader.

Before: PyYAML's pure-Python ``safe_load`` and the schema on every new sha, whatever the size.
After: ``parse_config`` refuses anything above ``MAX_CONFIG_BYTES`` before parsing, and
parses what it accepts with libyaml's ``CSafeLoader`` after an event scan for depth and
aliases. Printed: times, and ratios (old / new); no threshold is asserted.

Run: ``.venv/bin/python bench/bench_config_parse.py``
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chalicelib.pipelines.config import (  # noqa: E402
    MAX_CONFIG_BYTES,
    ConfigError,
    GitOpsConfig,
    parse_config,
)


def config_of(size: int) -> str:
    """A valid config of about ``size`` bytes: many images, as a big monorepo would list."""
    head = "version: 1\napplication:\n  images:\n"
    entry = "    - name: acme/service-{n:06d}\n      context: services/svc-{n:06d}\n"
    count = max(1, (size - len(head)) // len(entry.format(n=0)))
    return head + "".join(entry.format(n=n) for n in range(count))


def old_parse(text: str) -> GitOpsConfig:
    """What parsing did before: pure-Python safe_load, no cap, then the schema."""
    return GitOpsConfig.model_validate(yaml.safe_load(text))


def best_of(runs: int, call: Callable[[], Any]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        with contextlib.suppress(ConfigError):
            call()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    big = config_of(1024 * 1024)
    capped = config_of(MAX_CONFIG_BYTES - 1024)
    print(f"libyaml available: {yaml.__with_libyaml__}; cap {MAX_CONFIG_BYTES} bytes")
    old_big = best_of(1, lambda: old_parse(big))
    new_big = best_of(5, lambda: parse_config(big))
    print(f"1 MB   old parse  {old_big:8.3f} s   new (refused) {new_big * 1000:8.3f} ms   "
          f"ratio {old_big / new_big:,.0f}x")  # fmt: skip
    old_cap = best_of(2, lambda: old_parse(capped))
    new_cap = best_of(3, lambda: parse_config(capped))
    print(f"~255 KiB old parse {old_cap:8.3f} s   new parse    {new_cap:8.3f} s      "
          f"ratio {old_cap / new_cap:,.1f}x")  # fmt: skip
    pure = best_of(1, lambda: yaml.load(big, Loader=yaml.SafeLoader))
    libyaml = best_of(2, lambda: yaml.load(big, Loader=yaml.CSafeLoader))
    print(f"1 MB   SafeLoader {pure:8.3f} s   CSafeLoader   {libyaml:8.3f} s      "
          f"ratio {pure / libyaml:,.1f}x")  # fmt: skip
    typical = (ROOT / ".gitops.yml").read_text() if (ROOT / ".gitops.yml").exists() else ""
    small = typical or "terraform: {dir: terraform/infra}\n"
    per_call = best_of(200, lambda: parse_config(small))
    print(f"typical config ({len(small)} bytes): {per_call * 1e6:,.0f} µs per parse")


if __name__ == "__main__":
    main()
