"""Snapshots of a directory tree, to prove that a hostile run changed nothing outside."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under ``root``: files by content hash, links by target, folders by name."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            path = Path(folder) / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                found[key] = "link:" + os.readlink(path)
            elif path.is_dir():
                found[key] = "dir"
            else:
                found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def encoded_forms(secret: str) -> list[str]:
    """The secret and the forms a hostile PR would use to slip it past value masking."""
    import base64
    from urllib.parse import quote

    raw = secret.encode()
    forms = {secret, raw.hex(), raw.hex().upper(), quote(secret, safe="")}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        # Inside a longer encoded blob the secret sits at one of three alignments.
        for pad in (b"", b"a", b"ab"):
            text = encode(pad + raw).decode().rstrip("=")
            forms.add(text[(len(pad) * 4 + 2) // 3 + 1 : -2])
    return sorted(forms, key=len, reverse=True)


def find_secrets(root: Path, secrets: dict[str, str]) -> list[str]:
    """``file: secret name (form)`` for every file under ``root`` holding a secret in any form."""
    needles = {
        (name, form): form.encode()
        for name, value in secrets.items()
        for form in encoded_forms(value)
    }
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        data = path.read_bytes()
        for (name, form), needle in needles.items():
            if needle in data:
                hits.append(f"{path.relative_to(root)}: {name} ({form[:12]}…)")
    return hits
