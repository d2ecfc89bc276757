"""The runner image's Ansible: ansible-core plus ansible/requirements.yml resolves every module,
lookup and connection the playbooks name.

The image runs ``ansible-galaxy collection install -r ansible/requirements.yml``; Galaxy is
out of reach here, so the same collections are taken from the project's ansible bundle
(.venv-ansible), packed as Galaxy artifacts and installed offline by the image's
ansible-galaxy (requirements/runners.txt, in .venv) into an empty collections path. The
playbooks are then checked with that ansible-core alone, which carries no collection.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml
from ansible_harness import ANSIBLE_DIR, INVENTORY, PLAYBOOKS, REPO

pytestmark = pytest.mark.slow

IMAGE_BIN = REPO / ".venv" / "bin"  # ansible-core of requirements/runners.txt, as in the image
BUNDLE = REPO / ".venv-ansible" / "lib" / "python3.11" / "site-packages" / "ansible_collections"
REQUIREMENTS = ANSIBLE_DIR / "requirements.yml"
# A fully qualified plugin name of a collection (builtins need no requirement).
_FQCN = re.compile(r"\b((?!ansible\.builtin\.)[a-z_0-9]+\.[a-z_0-9]+)\.([a-z_0-9]+)\b")


def _pins() -> dict[str, str]:
    data = yaml.safe_load(REQUIREMENTS.read_text())
    return {entry["name"]: entry["version"] for entry in data["collections"]}


def _version(installed: Path) -> str:
    return json.loads((installed / "MANIFEST.json").read_text())["collection_info"]["version"]


def _dependencies(installed: Path) -> dict[str, str]:
    return json.loads((installed / "MANIFEST.json").read_text())["collection_info"]["dependencies"]


def _galaxy_artifact(installed: Path, out: Path) -> Path:
    """A Galaxy artifact of an installed collection: the pip bundle drops tests and docs, so
    FILES.json lists only what is present (checksums unchanged, MANIFEST updated to match)."""
    files = json.loads((installed / "FILES.json").read_text())
    present = [f for f in files["files"] if f["name"] == "." or (installed / f["name"]).exists()]
    files["files"] = present
    files_bytes = json.dumps(files).encode()
    manifest = json.loads((installed / "MANIFEST.json").read_text())
    manifest["file_manifest_file"]["chksum_sha256"] = hashlib.sha256(files_bytes).hexdigest()
    with tarfile.open(out, "w:gz") as tar:
        for name, data in (("MANIFEST.json", json.dumps(manifest).encode()),
                           ("FILES.json", files_bytes)):  # fmt: skip
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        for entry in files["files"]:
            if entry["name"] != ".":
                tar.add(installed / entry["name"], arcname=entry["name"], recursive=False)
    return out


def _env(home: Path, collections: Path) -> dict[str, str]:
    return {
        "PATH": f"{IMAGE_BIN}:/usr/bin:/bin",
        "HOME": str(home),
        "ANSIBLE_HOME": str(home / ".ansible"),
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "LANG": "C.UTF-8",
    }


def _used_plugins() -> set[tuple[str, str]]:
    """(collection, plugin) for every FQCN the playbooks and roles name."""
    used = set()
    for path in ANSIBLE_DIR.rglob("*.yml"):
        if "molecule" in path.parts:
            continue
        used |= {(m[1], m[2]) for m in _FQCN.finditer(path.read_text())}
    return {u for u in used if (BUNDLE / u[0].replace(".", "/")).is_dir()}


@pytest.fixture(scope="module")
def image_collections(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Install the pinned collections (and their dependencies) as the image does, offline."""
    root = tmp_path_factory.mktemp("image-ansible")
    wanted, artifacts, seen = list(_pins()), [], set()
    while wanted:
        name = wanted.pop()
        if name in seen:
            continue
        seen.add(name)
        installed = BUNDLE / name.replace(".", "/")
        assert installed.is_dir(), f"{name} is not in the ansible bundle (.venv-ansible)"
        artifacts.append(_galaxy_artifact(installed, root / f"{name}.tar.gz"))
        wanted += list(_dependencies(installed))
    target = root / "collections"
    done = subprocess.run(
        [str(IMAGE_BIN / "ansible-galaxy"), "collection", "install", "--offline",
         "-p", str(target), *map(str, artifacts)],
        env=_env(root, target), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return root, target


def test_pins_are_the_versions_the_project_bundle_plays() -> None:
    pins = _pins()
    assert set(pins) >= {"amazon.aws", "community.docker"}
    for name, version in pins.items():
        assert _version(BUNDLE / name.replace(".", "/")) == version, name


def test_every_collection_the_playbooks_use_is_pinned() -> None:
    used = {collection for collection, _ in _used_plugins()}
    assert used >= {"amazon.aws", "community.docker"}
    assert used <= set(_pins())


def test_installed_versions_are_the_pins(image_collections) -> None:
    _, target = image_collections
    for name, version in _pins().items():
        assert _version(target / "ansible_collections" / name.replace(".", "/")) == version


def test_every_plugin_resolves_with_the_image_ansible(image_collections) -> None:
    home, target = image_collections
    kinds = {"aws_ssm": "connection", "ssm_parameter": "lookup"}
    for collection, plugin in sorted(_used_plugins()):
        kind = kinds.get(plugin, "module")
        done = subprocess.run(
            [str(IMAGE_BIN / "ansible-doc"), "-t", kind, "--json", f"{collection}.{plugin}"],
            env=_env(home, target), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)[f"{collection}.{plugin}"]["doc"], (collection, plugin)


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbooks_resolve_with_the_image_ansible(image_collections, playbook: str) -> None:
    home, target = image_collections
    args = [str(IMAGE_BIN / "ansible-playbook"), "-i", str(INVENTORY), "--syntax-check", playbook]
    done = subprocess.run(args, cwd=ANSIBLE_DIR, env=_env(home, target), capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    # Without the collections the same ansible-core cannot resolve the compose module.
    empty = home / "no-collections"
    empty.mkdir(exist_ok=True)
    done = subprocess.run(args, cwd=ANSIBLE_DIR, env=_env(home, empty), capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode != 0 and "community.docker" in done.stdout + done.stderr


def test_the_image_installs_the_requirements_file() -> None:
    dockerfile = (REPO / "runners" / "Dockerfile").read_text()
    assert "COPY ansible/requirements.yml ansible/requirements.yml" in dockerfile
    assert "ansible-galaxy collection install --no-cache -r ansible/requirements.yml" in dockerfile
    # The aws_ssm connection runs session-manager-plugin: pinned by version and checksum.
    assert re.search(r"ARG SESSION_MANAGER_PLUGIN_VERSION=\d+\.\d+\.\d+\.\d+\n", dockerfile)
    assert re.search(r"ARG SESSION_MANAGER_PLUGIN_SHA256=[0-9a-f]{64}\n", dockerfile)
    assert "sha256sum -c" in dockerfile.split("session-manager-plugin.deb", 1)[1]
    assert "/plugin/latest/" not in dockerfile
