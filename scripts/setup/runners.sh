#!/usr/bin/env bash
# Tools the runner and its tests use: Ansible, ruamel.yaml, check-jsonschema (PyPI);
# shellcheck, buildah, skopeo and docker-registry (Debian). Idempotent.
set -euo pipefail
# shellcheck source=scripts/setup/lib.sh
source "$(dirname "$0")/lib.sh"

pip_install_requirements requirements/runners.txt
apt_install shellcheck buildah skopeo docker-registry
# Debian starts docker-registry as a service where systemd runs; the runner starts its own.
