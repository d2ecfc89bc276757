"""Plan comment rendering for a 10,000-resource plan, against ``json.loads`` of the same file.

Targets: rendering (parse, summarize, redact, split) at most 2x the time of ``json.loads``,
and a peak memory (tracemalloc) at most 3x the size of the file.

Run: ``.venv/bin/python bench/bench_comment_render.py``
"""

from __future__ import annotations

import gc
import importlib.util
import json
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chalicelib.feedback.markers import RunMarker  # noqa: E402
from chalicelib.feedback.render import (  # noqa: E402
    CommentContext,
    render_plan_comments_from_json,
)

RESOURCES = 10_000
REPEAT = 5


def _load_generator() -> Any:
    path = ROOT / "tests" / "unit" / "feedback" / "plan_generator.py"
    spec = importlib.util.spec_from_file_location("plan_generator", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


CONTEXT = CommentContext(
    thread="terraform-plan",
    title="Terraform plan · `infra`",
    marker=RunMarker(run_id="bench", seq=1, commit_time=datetime(2026, 11, 26, tzinfo=UTC)),
    sha="0" * 40,
    run_url="https://maestrops.example.com/runs/bench",
    run_label="terraform-plan #1",
)


def best_time(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEAT):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def peak_memory(fn: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    result = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return peak


def main() -> None:
    data = _load_generator().generate_plan_bytes(RESOURCES)
    size = len(data)

    def render() -> list[str]:
        return render_plan_comments_from_json(data, CONTEXT, max_parts=None)[1]

    def render_with_values() -> list[str]:
        return render_plan_comments_from_json(data, CONTEXT, max_parts=None, detail_limit=size)[1]

    comments = render()
    t_json = best_time(lambda: json.loads(data))
    t_render = best_time(render)
    t_values = best_time(render_with_values)
    m_render = peak_memory(render)
    m_json = peak_memory(lambda: json.loads(data))
    m_values = peak_memory(render_with_values)

    print(f"plan: {RESOURCES} resource changes, {size / 1e6:.1f} MB, {len(comments)} comments")
    print(f"json.loads                      {t_json * 1000:8.1f} ms   peak {m_json / 1e6:6.1f} MB")
    print(
        f"render (default, no values)     {t_render * 1000:8.1f} ms   peak {m_render / 1e6:6.1f} MB"
    )
    print(
        f"render with attribute values    {t_values * 1000:8.1f} ms   peak {m_values / 1e6:6.1f} MB"
    )
    print(f"time ratio render/json.loads: {t_render / t_json:.2f}x (target <= 2x)")
    print(f"peak memory / file size:      {m_render / size:.2f}x (target <= 3x)")
    print(
        f"with values: {t_values / t_json:.2f}x time, {m_values / size:.2f}x memory "
        "(used only for plans under 2 MB)"
    )


if __name__ == "__main__":
    main()
