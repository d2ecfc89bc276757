"""Rewrite image tags in a compose file, keeping its comments and layout (ruamel.yaml)."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

from runners.tools import find_tool

COMPOSE_SCHEMA = "vendor.compose-spec"  # check-jsonschema's built-in compose schema


def split_image(image: str) -> tuple[str, str | None]:
    """``registry:5000/team/app:tag@sha256:…`` -> (``registry:5000/team/app``, ``tag``).

    >>> split_image("localhost:5000/team/app@sha256:" + "0" * 64)
    ('localhost:5000/team/app', None)
    """
    image = image.partition("@")[0]
    name, sep, tag = image.rpartition(":")
    if sep and "/" not in tag:
        return name, tag
    return image, None


def new_reference(repository: str, wanted: str) -> str:
    """A tag keeps the service's repository; a full reference (it has a ``/`` or a digest,
    which a tag never has) replaces it, registry prefix and digest included."""
    return wanted if "/" in wanted or "@" in wanted else f"{repository}:{wanted}"


def _matches(repository: str, wanted: str) -> bool:
    """``maestrops/backend`` matches itself and any registry prefix before it."""
    return repository == wanted or repository.endswith("/" + wanted)


def rewrite_image_tags(text: str, images: dict[str, str]) -> tuple[str, list[str]]:
    """Point every service whose image repository is in ``images`` (repo -> tag or full
    reference) at the new image.

    Returns the new text and the services changed. Comments, key order and quoting stay.
    """
    from ruamel.yaml import YAML  # lazy: only image runs need it
    from ruamel.yaml.util import load_yaml_guess_indent

    _, seq_indent, seq_offset = load_yaml_guess_indent(text)
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines
    # Keep the file's own indentation: ruamel's defaults would re-indent nested lists.
    yaml.indent(mapping=_mapping_indent(text), sequence=seq_indent, offset=seq_offset)
    doc = yaml.load(text)
    changed: list[str] = []
    for name, service in (doc.get("services") or {}).items():
        image = service.get("image") if hasattr(service, "get") else None
        if not image:
            continue
        repository, _ = split_image(str(image))
        for wanted, tag in images.items():
            if _matches(repository, wanted):
                # type(image) keeps the scalar's quoting style (plain, '...' or "...").
                service["image"] = type(image)(new_reference(repository, tag))
                changed.append(name)
    if not changed:
        return text, changed
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue(), changed


def _mapping_indent(text: str) -> int:
    """The indentation of the first nested key (compose files use 2 or 4)."""
    match = re.search(r"^( +)[\w.-]+:", text, re.MULTILINE)
    return len(match.group(1)) if match else 2


def validate_compose(path: Path) -> tuple[bool, str]:
    """check-jsonschema with its built-in compose-spec schema; returns (ok, message)."""
    binary = find_tool("check-jsonschema")
    if not binary:
        return False, "check-jsonschema is not installed"
    done = subprocess.run(
        [binary, "--builtin-schema", COMPOSE_SCHEMA, str(path)],
        capture_output=True,
        text=True,
    )
    return done.returncode == 0, (done.stdout + done.stderr).strip()
