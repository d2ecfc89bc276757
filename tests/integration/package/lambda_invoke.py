"""Run inside the clean environment: import one handler as Lambda does, call it once.

Usage: ``python -I lambda_invoke.py <task dir> <module.attribute> <event.json>``. Prints one
line ``OUTCOME <json>`` last: the phase reached (``import``, ``invoke`` or ``done``), the
result, and for an exception every type in its chain, whether one was an ImportError, and the
traceback. Only the standard library here: this file runs where the package's own
dependencies are all there is.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any


class LambdaContext:
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    aws_request_id = "6f7e9f2c-0000-4000-8000-000000000001"
    invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
    log_group_name = f"/aws/lambda/{function_name}"
    log_stream_name = "2026/11/30/[$LATEST]0000"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def describe(exc: BaseException) -> dict[str, Any]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return {
        "errors": [f"{type(e).__module__}.{type(e).__qualname__}: {e}" for e in chain],
        "import_error": any(isinstance(e, ImportError) for e in chain),
        "traceback": "".join(traceback.format_exception(exc)),
    }


def main() -> None:
    task_dir, handler, event_file = sys.argv[1:4]
    os.chdir(task_dir)
    sys.path.insert(0, task_dir)
    module_name, attribute = handler.rsplit(".", 1)
    event = json.loads(Path(event_file).read_text())
    outcome: dict[str, Any] = {"handler": handler, "phase": "import"}
    try:
        function = getattr(importlib.import_module(module_name), attribute)
        outcome["phase"] = "invoke"
        outcome["result"] = function(event, LambdaContext())
        outcome["phase"] = "done"
    except Exception as exc:
        outcome.update(describe(exc))
    print("OUTCOME " + json.dumps(outcome, default=str))


if __name__ == "__main__":
    main()
