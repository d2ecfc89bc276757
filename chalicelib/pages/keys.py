"""Local mode's session key: kept in the data dir (0600), made on first use, so a restart
keeps everyone signed in and a new data dir signs everyone out."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

KEY_FILE = "session-key"


def local_session_key(data_dir: str) -> bytes:
    path = Path(data_dir) / KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(key)
    return bytes.fromhex(key)
