"""Find the command-line tools the runner drives (beside this Python first, then PATH)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path


def find_tool(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The tool installed in this Python's environment (.venv/bin), else the one on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    env = os.environ if env is None else env
    return shutil.which(name, path=env.get("PATH"))
